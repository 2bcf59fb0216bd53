// End to end: configs/rsa_halves.ini offline on the GloVe subset.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"
#include "io/readers.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

const std::string kFast =
    " --quiet --set report.plots=false --set compare.permutations=199 --set compare.bootstrap=100";

// Average ranks (ties share the mean rank), from the definition.
std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<std::size_t> o(x.size());
  std::iota(o.begin(), o.end(), std::size_t{0});
  std::sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < o.size();) {
    std::size_t j = i;
    while (j + 1 < o.size() && x[o[j + 1]] == x[o[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[o[k]] = 0.5 * static_cast<double>(i + j) + 1.0;
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rsa_e2e)

BOOST_AUTO_TEST_CASE(two_spaces_gpt2_tokens_against_glove_words) {
  // configs/rsa.ini's path: space_a a GPT-2 checkpoint (kind = tokens: " word" through the
  // tokenizer, multi-token words dropped), space_b GloVe words. The RDMs and their Spearman are
  // recomputed here from the raw rows: wte read from the safetensors file with ids from encoder.json,
  // GloVe parsed from the text file.
  EMBEDLAB_FIXTURE(encoder, "gpt2-tokenizer/encoder.json");
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string model = tiny_gpt2_with_tokenizer(dir);
  std::map<std::string, arma::vec> gv;
  std::string list;
  {
    std::istringstream in(read_file(glove));
    std::string line;
    for (int i = 0; i < 40 && std::getline(in, line); ++i) {
      std::istringstream ls(line);
      std::string w;
      ls >> w;
      std::vector<double> v;
      for (double x; ls >> x;) v.push_back(x);
      gv[w] = arma::vec(v);
      list += (i ? "," : "") + w;
    }
  }
  const std::string results = dir.file("results");
  const auto rc = run_command(
      fmt::format("{} {} --results '{}'{} --set space_a.path='{}' --set space_b.path='{}' --set space_b.limit=0 "
                  "--set words.from=list --set words.list={} --set compare.methods=spearman,pearson",
                  bin("run_experiment"), source("configs/rsa.ini"), results, kFast, model, glove, list),
      dir);
  BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
  io::H5ResultReader r((fs::path(only_run_dir(results, "rsa")) / "results.h5").string());

  std::ifstream ein(encoder);
  const auto enc = nlohmann::json::parse(ein);
  const auto idx = io::read_safetensors_index(model + "/model.safetensors");
  const arma::mat E = arma::conv_to<arma::mat>::from(io::read_safetensors_tensor(idx, "transformer.wte.weight").data);
  // Kept words are exactly the single-token ones ('Ġword' in encoder.json).
  const auto words = r.read_strings("/rdm/words");
  std::size_t single = 0;
  for (const auto& [w, v] : gv) single += enc.contains("\u0120" + w) ? 1 : 0;
  BOOST_TEST(words.size() == single);
  BOOST_REQUIRE_GE(words.size(), 10u);
  const std::size_t m = words.size();
  arma::mat A(E.n_rows, m), B(50, m);
  for (std::size_t i = 0; i < m; ++i) {
    BOOST_REQUIRE(enc.contains("\u0120" + words[i]));
    A.col(i) = arma::normalise(E.col(enc["\u0120" + words[i]].get<arma::uword>()));
    B.col(i) = arma::normalise(gv.at(words[i]));
  }
  const arma::mat RA = 1.0 - A.t() * A, RB = 1.0 - B.t() * B;  // cosine RDMs
  const auto ra = r.read_doubles("/rdm/a"), rb = r.read_doubles("/rdm/b");
  BOOST_REQUIRE_EQUAL(ra.size(), m * m);
  std::vector<double> ua, ub;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < m; ++j) {
      BOOST_TEST(std::abs(ra[i * m + j] - (i == j ? 0.0 : RA(i, j))) <= Tol<float>::eps);
      BOOST_TEST(std::abs(rb[i * m + j] - (i == j ? 0.0 : RB(i, j))) <= Tol<float>::eps);
      if (i < j) {
        ua.push_back(RA(i, j));
        ub.push_back(RB(i, j));
      }
    }
  const auto stat = r.read_doubles("/compare/statistic");
  BOOST_REQUIRE_EQUAL(stat.size(), 2u);
  BOOST_TEST(stat[0] == pearson(ranks(ua), ranks(ub)), tt::tolerance(Tol<float>::loose));  // Spearman
  BOOST_TEST(stat[1] == pearson(ua, ub), tt::tolerance(Tol<float>::loose));
}

BOOST_AUTO_TEST_CASE(halves_of_glove_subset) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const std::string results = dir.file("results");
  // 60 words of the file, then one missing word, one repeat and one that is not a-z only.
  std::string list;
  {
    std::istringstream in(read_file(glove));
    std::string line;
    for (int i = 0; i < 60 && std::getline(in, line); ++i) list += line.substr(0, line.find(' ')) + ",";
  }
  list += "qwzxv,dog,new-york";
  const auto rc =
      run_command(fmt::format("{} {} --results '{}'{} --set space_a.path='{}' --set words.from=list "
                              "--set words.list={} --set compare.methods=spearman,pearson,kendall_tau_a",
                              bin("run_experiment"), source("configs/rsa_halves.ini"), results, kFast, glove, list),
                  dir);
  BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
  const std::string run = only_run_dir(results, "rsa");
  io::H5ResultReader r((fs::path(run) / "results.h5").string());

  const auto stat = r.read_doubles("/compare/statistic"), p = r.read_doubles("/compare/p_value");
  const auto lo = r.read_doubles("/compare/ci_low"), hi = r.read_doubles("/compare/ci_high");
  BOOST_REQUIRE_EQUAL(stat.size(), 3u);  // spearman, pearson, kendall_tau_a
  for (std::size_t i = 0; i < stat.size(); ++i) {
    BOOST_TEST((stat[i] >= -1.0 && stat[i] <= 1.0));
    BOOST_TEST((p[i] > 0.0 && p[i] <= 1.0));
    BOOST_TEST(p[i] >= 1.0 / 200.0);  // observed counted once among 199 permutations
    BOOST_TEST(lo[i] <= hi[i]);
  }
  // Coverage: kept + dropped = candidates; dropped words carry a reason, kept ones none.
  const double kept = r.attr_double("/coverage", "kept"), dropped = r.attr_double("/coverage", "dropped");
  BOOST_TEST(r.attr_double("/coverage", "candidates") == 63.0);
  BOOST_TEST(kept == 60.0);
  BOOST_TEST(dropped == 3.0);
  const auto status = r.read_strings("/coverage/status_a");
  BOOST_TEST(status[60] == "not_in_vocabulary");
  const auto flag = r.read_doubles("/coverage/kept");
  const auto why = r.read_strings("/coverage/reason");
  for (std::size_t i = 0; i < flag.size(); ++i) BOOST_TEST((flag[i] == 1.0) == why[i].empty());
  const auto shape = r.shape("/rdm/a");
  BOOST_TEST(shape[0] == static_cast<std::uint64_t>(kept));
  BOOST_TEST(r.shape("/rdm/b") == shape, tt::per_element());
  BOOST_TEST(r.attr_string("/rdm", "space_a") == "dimensions 0..24");
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("Coverage") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(two_spaces_need_space_b) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  TempDir dir;
  const auto rc = run_command(
      fmt::format("{} {} --results '{}'{} --set space_a.path='{}' --set rsa.halves=false", bin("run_experiment"),
                  source("configs/rsa_halves.ini"), dir.file("results"), kFast, glove),
      dir);
  BOOST_TEST(rc.exit_code == 78);
  BOOST_TEST(rc.err.find("space_b.path: required unless rsa.halves = true") != std::string::npos, rc.err);
  // the same problems are found by --dry-run, before anything is read, all at once
  const auto dry = run_command(
      fmt::format("{} {} --dry-run --results '{}' --set space_a.path='{}' --set rsa.halves=false --set words.from=list "
                  "--set words.list=cat,dog",
                  bin("run_experiment"), source("configs/rsa_halves.ini"), dir.file("results"), glove),
      dir);
  BOOST_TEST(dry.exit_code == 78);
  BOOST_TEST(dry.err.find("space_b.path: required unless") != std::string::npos, dry.err);
  BOOST_TEST(dry.err.find("--set: words.list: words.from = list needs at least 3 words (got 2)") != std::string::npos,
             dry.err);
}

BOOST_AUTO_TEST_SUITE_END()
