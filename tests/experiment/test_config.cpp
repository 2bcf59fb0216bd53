// Config front end: every bad-config case of CONVENTIONS.md gives a located message, all at once.
#include <boost/test/unit_test.hpp>

#include "experiment/config.hpp"
#include "experiment/runner.hpp"
#include "experiments/experiments.hpp"
#include "testing.hpp"

#include <algorithm>

using namespace embedlab;
using namespace embedlab::experiment;
using embedlab::test::TempDir;
using embedlab::test::write_file;

namespace {

// Runs --dry-run validation of `ini` and returns the problems (empty when valid).
std::vector<std::string> problems_of(const std::string& ini, const std::vector<std::string>& sets = {}) {
  TempDir dir;
  const std::string path = dir.file("c.ini");
  write_file(path, ini);
  RunOptions o;
  o.config_path = path;
  o.sets = sets;
  o.dry_run = true;
  o.quiet = true;
  try {
    run(experiments::registry(), o);
  } catch (const ConfigError& e) {
    BOOST_TEST(e.exit_code() == 78);
    std::vector<std::string> out = e.problems();
    for (auto& p : out) p = p.substr(p.find("c.ini") == std::string::npos ? 0 : p.find("c.ini"));
    return out;
  }
  return {};
}

bool any_contains(const std::vector<std::string>& v, const std::string& needle) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

const std::string kGood = "[experiment]\nname = random_variance\n[sweep]\ndims = 2, 4\npairs = 100\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(valid_config_has_no_problems) { BOOST_TEST(problems_of(kGood).empty()); }

BOOST_AUTO_TEST_CASE(unknown_key_suggests_nearest) {
  const auto p = problems_of(kGood + "pairz = 10\n");
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(p[0].find("c.ini:6: sweep.pairz: unknown key (did you mean 'sweep.pairs'?)") != std::string::npos, p[0]);
}

BOOST_AUTO_TEST_CASE(duplicate_key_names_both_lines) {
  const auto p = problems_of(kGood + "pairs = 200\n");
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(p[0].find("c.ini:6: sweep.pairs: duplicate key (first set on line 5)") != std::string::npos, p[0]);
}

BOOST_AUTO_TEST_CASE(line_without_equals) {
  const auto p = problems_of(kGood + "just words\n");
  BOOST_TEST(any_contains(p, "c.ini:6: line without '='"));
}

BOOST_AUTO_TEST_CASE(wrong_type) {
  const auto p = problems_of("[experiment]\nname = random_variance\n[sweep]\ndims = abc\n");
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(p[0].find("c.ini:4: sweep.dims: wrong type (got 'abc'") != std::string::npos, p[0]);
}

BOOST_AUTO_TEST_CASE(wrong_type_through_set) {
  const auto p = problems_of(kGood, {"sweep.dims=abc"});
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(p[0].find("--set: sweep.dims: wrong type") != std::string::npos, p[0]);
}

BOOST_AUTO_TEST_CASE(out_of_range_and_not_allowed) {
  const auto p = problems_of(kGood + "confidence = 2\ndistributions = gaussian, cauchy\n");
  BOOST_REQUIRE_EQUAL(p.size(), 2u);
  BOOST_TEST(any_contains(p, "sweep.confidence: value out of range (got 2"));
  BOOST_TEST(any_contains(p, "sweep.distributions: value not allowed (got 'cauchy'"));
}

BOOST_AUTO_TEST_CASE(missing_required_key) {
  const auto p = problems_of("[sweep]\ndims = 2\n");
  BOOST_TEST(any_contains(p, "experiment.name: missing required key"));
}

BOOST_AUTO_TEST_CASE(unknown_experiment_suggests) {
  const auto p = problems_of("[experiment]\nname = random_varianse\n");
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(p[0].find("did you mean 'random_variance'") != std::string::npos, p[0]);
}

BOOST_AUTO_TEST_CASE(hash_inside_value_detected) {
  const auto p = problems_of(kGood + "confidence = 0.9 # ninety\n");
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(p[0].find("c.ini:6: sweep.confidence: '#' inside a value") != std::string::npos, p[0]);
}

BOOST_AUTO_TEST_CASE(missing_input_file) {
  const auto p = problems_of(kGood + "[embeddings]\npath = /nonexistent/e.npy\n");
  BOOST_REQUIRE_EQUAL(p.size(), 1u);
  BOOST_TEST(p[0].find("embeddings.path: input not found (got '/nonexistent/e.npy'") != std::string::npos, p[0]);
}

BOOST_AUTO_TEST_CASE(all_problems_at_once) {
  const auto p = problems_of("[experiment]\nname = random_variance\n[sweep]\ndims = x\npairs = -1\nfoo = 1\n");
  BOOST_TEST(p.size() == 3u);
}

// Schema::check: rules beyond a key's type, reported with the key's origin, skipped for keys that
// failed to parse.
BOOST_AUTO_TEST_CASE(schema_checks) {
  struct C {
    std::int64_t lo = 0, hi = 0;
  };
  Schema<C> s;
  s.key("a.lo", &C::lo, "0", "lower");
  s.key("a.hi", &C::hi, "10", "upper");
  s.check("a.hi", [](const C& c) -> std::optional<std::string> {
    if (c.hi <= c.lo) return fmt::format("must exceed a.lo (got {}, expected > {})", c.hi, c.lo);
    return std::nullopt;
  });
  auto problems = [&](const std::string& ini) {
    TempDir dir;
    write_file(dir.file("c.ini"), ini);
    std::vector<std::string> p;
    RawConfig raw = read_ini(dir.file("c.ini"), p);
    std::vector<std::string> unused;
    C c;
    s.apply(raw, c, p, unused);
    return p;
  };
  BOOST_TEST(problems("[a]\nlo = 1\nhi = 5\n").empty());
  const auto bad = problems("[a]\nlo = 7\nhi = 5\n");
  BOOST_REQUIRE(bad.size() == 1u);
  BOOST_TEST(bad[0].find("c.ini:3: a.hi: must exceed a.lo (got 5, expected > 7)") != std::string::npos, bad[0]);
  const auto default_hi = problems("[a]\nlo = 12\n");  // the check reads the default; origin = the file
  BOOST_REQUIRE(default_hi.size() == 1u);
  BOOST_TEST(default_hi[0].find("c.ini: a.hi: must exceed") != std::string::npos, default_hi[0]);
  const auto unparsed = problems("[a]\nlo = 1\nhi = x\n");  // only the type error, not the check too
  BOOST_REQUIRE(unparsed.size() == 1u);
  BOOST_TEST(unparsed[0].find("wrong type") != std::string::npos, unparsed[0]);
}

BOOST_AUTO_TEST_CASE(missing_config_file) {
  RunOptions o;
  o.config_path = "/nonexistent/config.ini";
  o.dry_run = true;
  try {
    run(experiments::registry(), o);
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 66);
    BOOST_TEST(std::string(e.what()).find("/nonexistent/config.ini") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(help_config_lists_every_key) {
  const std::string h = help_config(experiments::registry(), "random_variance");
  for (const char* key : {"sweep.dims", "sweep.pairs", "sweep.distributions", "histogram.dim", "experiment.seed",
                          "embeddings.path", "report.plots"})
    BOOST_TEST(h.find(key) != std::string::npos, key);
}

BOOST_AUTO_TEST_SUITE_END()
