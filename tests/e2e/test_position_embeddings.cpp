// End to end: configs/position_embeddings.ini on the real GPT-2 wpe from tests/data/gpt2-wpe.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/readers.hpp"

#include <cmath>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_SUITE(position_embeddings_e2e)

BOOST_AUTO_TEST_CASE(gpt2_wpe_offsets_norms_spectrum) {
  EMBEDLAB_FIXTURE(wpe, "gpt2-wpe/gpt2-wpe-lnf.safetensors");
  TempDir dir;
  const std::string results = dir.file("results");
  const auto rc =
      run_command(fmt::format("{} {} --results '{}' --quiet --set report.plots=false "
                              "--set embeddings.path='{}' --set embeddings.tensor=wpe.weight",
                              bin("run_experiment"), source("configs/position_embeddings.ini"), results, wpe),
                  dir);
  BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
  const std::string run = only_run_dir(results, "position_embeddings");
  io::H5ResultReader r((fs::path(run) / "results.h5").string());

  // Norm of position 0, computed here from the tensor in double.
  const auto t = io::read_safetensors_tensor(io::read_safetensors_index(wpe), "wpe.weight");
  double n0 = 0;
  for (arma::uword k = 0; k < t.data.n_rows; ++k) n0 += static_cast<double>(t.data(k, 0)) * t.data(k, 0);
  const auto norms = r.read_doubles("/norms/norm");
  BOOST_REQUIRE_EQUAL(norms.size(), 1024u);
  BOOST_TEST(norms[0] == std::sqrt(n0), tt::tolerance(Tol<double>::loose));

  const auto mean = r.read_doubles("/offset/mean_cosine");
  BOOST_REQUIRE_EQUAL(mean.size(), 1024u);
  BOOST_TEST(mean[0] == 1.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(mean[1] > mean[100]);
  const auto pairs = r.read_doubles("/offset/pairs");
  BOOST_TEST(pairs[1] == 1023.0);
  // The cosine matrix and the mean by offset recomputed here from the raw rows, in double.
  {
    const arma::mat U = arma::normalise(arma::conv_to<arma::mat>::from(t.data));
    const arma::mat C = U.t() * U;
    const auto S = r.read_doubles("/cosine/matrix");
    BOOST_TEST(arma::abs(arma::mat(S.data(), 1024, 1024) - C).max() <= Tol<float>::eps);  // symmetric: order-free
    for (const arma::uword k : {1u, 64u, 512u, 1023u}) {
      double m = 0;
      for (arma::uword i = 0; i + k < 1024; ++i) m += C(i, i + k) / static_cast<double>(1024 - k);
      BOOST_TEST(std::abs(mean[k] - m) <= Tol<float>::eps, "offset " << k);
    }
  }

  BOOST_TEST(r.shape("/cosine/matrix") == (std::vector<std::uint64_t>{1024, 1024}), tt::per_element());
  BOOST_TEST(r.shape("/cosine/downsampled") == (std::vector<std::uint64_t>{256, 256}), tt::per_element());
  // The block average keeps the overall mean of S (equal blocks of 4×4).
  const auto S = r.read_doubles("/cosine/matrix"), D = r.read_doubles("/cosine/downsampled");
  double ms = 0, md = 0;
  for (const double x : S) ms += x;
  for (const double x : D) md += x;
  BOOST_TEST(ms / static_cast<double>(S.size()) == md / static_cast<double>(D.size()), tt::tolerance(Tol<double>::sum));

  double share = 0;
  for (const double x : r.read_doubles("/spectrum/pca_shares")) share += x;
  BOOST_TEST(share == 1.0, tt::tolerance(Tol<double>::sum));
  double trace = 0;
  for (const double x : r.read_doubles("/spectrum/cosine_eigenvalues")) trace += x;
  BOOST_TEST(trace == 1024.0, tt::tolerance(Tol<double>::sum));
}

BOOST_AUTO_TEST_SUITE_END()
