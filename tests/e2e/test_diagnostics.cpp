// End to end: the diagnostics (hubness, CSLS, rogue dimensions, TwoNN, isotropy) through
// `embedlab stats --json`, `embedlab similar --csls`, `embedlab neighbors --csls` and vocab_geometry's
// /diagnostics, against the float64 NumPy reference (tests/data/diagnostics_reference.json, written by
// scripts/gen_diagnostics_reference.py).
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

using namespace embedlab;
using namespace embedlab::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr double kTol = Tol<float>::eps;  // the 1e-6, relative to max(1, |reference|)

const json& ref_case(const std::string& name) {
  static const json j = [] {
    EMBEDLAB_FIXTURE(path, "diagnostics_reference.json");
    std::ifstream in(path);
    return json::parse(in);
  }();
  for (const auto& c : j["cases"])
    if (c["name"] == name) return c;
  BOOST_FAIL("no reference case " << name);
  return j;
}

bool close(double a, const json& b) {
  if (b.is_null()) return std::isnan(a);
  const double r = b.get<double>();
  return std::abs(a - r) <= kTol * std::max(1.0, std::abs(r));
}
bool close(const json& a, const json& b) { return a.is_null() ? b.is_null() : close(a.get<double>(), b); }

#define CHECK_CLOSE(a, b) BOOST_TEST(close((a), (b)), #a " = " << (a) << ", reference " << (b))

std::string glove_path() { return fixture("glove-6B-50d-subset/glove.6B.50d.subset3091.txt"); }

// The synthetic reference matrix (zero rows included) as a GloVe text file; 9 significant digits
// give back the same float32 values.
std::string write_synthetic(const TempDir& dir, const json& c) {
  std::string text;
  const auto& m = c["matrix"];
  for (std::size_t i = 0; i < m.size(); ++i) {
    text += fmt::format("w{}", i);
    for (const auto& v : m[i]) text += fmt::format(" {:.9g}", v.get<float>());
    text += "\n";
  }
  const std::string path = dir.file("synthetic.txt");
  write_file(path, text);
  return path;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diagnostics_e2e)

BOOST_AUTO_TEST_CASE(stats_json_fields_match_the_reference) {
  const json& c = ref_case("glove_subset_k10");
  TempDir dir;
  const auto r =
      run_command(fmt::format("{} stats '{}' --json --standardized --threads 2", bin("embedlab"), glove_path()), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const json j = json::parse(r.out);
  BOOST_TEST(j.contains("anisotropy"));  // the earlier fields are still there
  const auto& h = j["hubness"];
  BOOST_TEST(h["k"] == 10);
  for (const char* f : {"skewness", "antihub_share", "hub_share", "robin_hood"}) CHECK_CLOSE(h[f], c["hubness"][f]);
  for (const auto& [key, ref] :
       {std::pair{j["rogue_dimensions"], c["rogue_dimensions"]},
        std::pair{j["rogue_dimensions"]["standardized"], c["rogue_dimensions_standardized"]}}) {
    BOOST_REQUIRE_EQUAL(key["dims"].size(), 3u);
    for (std::size_t e = 0; e < 3; ++e) {
      BOOST_TEST(key["dims"][e] == ref["dims"][e]);
      CHECK_CLOSE(key["share"][e], ref["share"][e]);
    }
    CHECK_CLOSE(key["mean_cosine"], ref["mean_cosine"]);
  }
  CHECK_CLOSE(j["intrinsic_dimension"]["twonn"], c["intrinsic_dimension"]["twonn"]);
  CHECK_CLOSE(j["isotropy"]["mu_viswanath"], c["isotropy"]["mu_viswanath"]);
  CHECK_CLOSE(j["isotropy"]["isoscore"], c["isotropy"]["isoscore"]);
}

BOOST_AUTO_TEST_CASE(similar_csls_matches_the_reference) {
  const json& c = ref_case("glove_subset_k10");
  TempDir dir;
  const auto r =
      run_command(fmt::format("{} similar '{}' king dog france --csls --json", bin("embedlab"), glove_path()), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const json j = json::parse(r.out);
  for (const auto& [word, ref] : c["csls_neighbours"].items()) {
    BOOST_TEST_CONTEXT(word) {
      const auto& got = j[word];
      BOOST_REQUIRE_EQUAL(got.size(), ref["tokens"].size());
      for (std::size_t e = 0; e < got.size(); ++e) {
        BOOST_TEST(got[e][0] == ref["tokens"][e]);
        CHECK_CLOSE(got[e][1], ref["csls"][e]);
        CHECK_CLOSE(got[e][2], ref["cos"][e]);
      }
    }
  }
  // CSLS reorders the cosine list
  const auto plain = run_command(fmt::format("{} similar '{}' king --json", bin("embedlab"), glove_path()), dir);
  BOOST_REQUIRE_EQUAL(plain.exit_code, 0);
  BOOST_TEST(json::parse(plain.out)["king"] != j["king"]);
}

BOOST_AUTO_TEST_CASE(neighbors_csls_lists_give_the_reference_hubness) {
  const json& c = ref_case("glove_subset_k10");
  TempDir dir;
  const std::string out = dir.file("csls.h5");
  const auto r = run_command(
      fmt::format("{} neighbors '{}' --all --k 10 --csls --out '{}' --threads 2", bin("embedlab"), glove_path(), out),
      dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  io::H5ResultReader h(out);
  BOOST_TEST(h.attr_string("/", "ranking") == "csls");
  const auto ids = h.read_doubles("/ids");
  const auto rr = h.read_doubles("/csls_r");
  const std::size_t n = c["n"].get<std::size_t>();
  BOOST_REQUIRE_EQUAL(ids.size(), n * 10);
  std::vector<std::size_t> counts(n, 0);
  for (const double id : ids) ++counts[static_cast<std::size_t>(id)];
  std::size_t differ = 0;
  for (std::size_t i = 0; i < n; ++i) differ += counts[i] != c["csls_hubness"]["counts"][i].get<std::size_t>();
  BOOST_TEST(differ == 0u);
  for (std::size_t i = 0; i < n; ++i) CHECK_CLOSE(rr[i], c["csls_r"][i]);
}

BOOST_AUTO_TEST_CASE(vocab_geometry_diagnostics_on_the_synthetic_matrix_with_excluded_rows) {
  const json& c = ref_case("synthetic_k3");
  TempDir dir;
  const std::string path = write_synthetic(dir, c), results = dir.file("results");
  const auto r =
      run_command(fmt::format("{} {} --results '{}' --quiet --set report.plots=false --set embeddings.path='{}' "
                              "--set embeddings.format=glove --set normalize.bad_rows=exclude --set diagnostics.k=3 "
                              "--set diagnostics.csls=true "
                              "--set gaussian.samples=16 --set allpairs.histogram=false",
                              bin("run_experiment"), source("configs/vocab_geometry.ini"), results, path),
                  dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string run = only_run_dir(results, "vocab_geometry");
  io::H5ResultReader h((fs::path(run) / "results.h5").string());
  for (const auto& [grp, key] :
       {std::pair{"/diagnostics/hubness", "hubness"}, std::pair{"/diagnostics/hubness_csls", "csls_hubness"}}) {
    const auto& ref = c[key];
    BOOST_TEST(h.attr_double(grp, "k") == 3.0);
    for (const char* f : {"skewness", "antihub_share", "hub_share", "robin_hood"})
      CHECK_CLOSE(h.attr_double(grp, f), ref[f]);
    const auto counts = h.read_doubles(std::string(grp) + "/counts");
    BOOST_REQUIRE_EQUAL(counts.size(), ref["counts"].size());
    for (std::size_t i = 0; i < counts.size(); ++i) BOOST_TEST(counts[i] == ref["counts"][i].get<double>());
  }
  for (const auto& [grp, key] :
       {std::pair{"/diagnostics/rogue_dimensions", "rogue_dimensions"},
        std::pair{"/diagnostics/rogue_dimensions_standardized", "rogue_dimensions_standardized"}}) {
    const auto dims = h.read_doubles(std::string(grp) + "/dims"), share = h.read_doubles(std::string(grp) + "/share");
    for (std::size_t e = 0; e < 3; ++e) {
      BOOST_TEST(dims[e] == c[key]["dims"][e].get<double>());
      CHECK_CLOSE(share[e], c[key]["share"][e]);
    }
  }
  CHECK_CLOSE(h.attr_double("/diagnostics/intrinsic_dimension", "twonn"), c["intrinsic_dimension"]["twonn"]);
  BOOST_TEST(h.attr_double("/diagnostics/intrinsic_dimension", "rows_r1_zero") ==
             c["intrinsic_dimension"]["rows_r1_zero"].get<double>());
  CHECK_CLOSE(h.attr_double("/diagnostics/isotropy", "mu_viswanath"), c["isotropy"]["mu_viswanath"]);
  CHECK_CLOSE(h.attr_double("/diagnostics/isotropy", "isoscore"), c["isotropy"]["isoscore"]);
  const std::string md = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(md.find("## Diagnostics: hubs, rogue dimensions, intrinsic dimension, isotropy") != std::string::npos);
  BOOST_TEST(md.find("intrinsic dimension (TwoNN)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_inputs_and_options) {
  const json& c = ref_case("synthetic_k3");
  TempDir dir;
  const std::string path = write_synthetic(dir, c);
  // the zero rows fail under the CLI's policy (fail), naming them
  auto r = run_command(fmt::format("{} stats '{}' --json --format glove", bin("embedlab"), path), dir);
  BOOST_TEST(r.exit_code == 65);
  BOOST_TEST(r.err.find("w45") != std::string::npos, r.err);
  r = run_command(fmt::format("{} stats '{}' --k 0", bin("embedlab"), glove_path()), dir);
  BOOST_TEST(r.exit_code == 64);
  r = run_command(fmt::format("{} similar '{}' king --csls --csls-k 0", bin("embedlab"), glove_path()), dir);
  BOOST_TEST(r.exit_code == 64);
  BOOST_TEST(r.err.find("--csls-k") != std::string::npos, r.err);
  r = run_command(fmt::format("{} neighbors '{}' --all --csls --csls-k 0 --out '{}'", bin("embedlab"), glove_path(),
                              dir.file("x.h5")),
                  dir);
  BOOST_TEST(r.exit_code == 64);
  BOOST_TEST(!fs::exists(dir.file("x.h5")));
  // an out-of-range key is a config error before anything runs
  r = run_command(fmt::format("{} {} --dry-run --set embeddings.path='{}' --set diagnostics.k=0", bin("run_experiment"),
                              source("configs/vocab_geometry.ini"), glove_path()),
                  dir);
  BOOST_TEST(r.exit_code == 78);
  BOOST_TEST(r.err.find("diagnostics.k") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
