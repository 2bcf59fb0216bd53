// Sweeps: grid expansion, validation of the swept values through the declarations, shares, headlines.
#include <boost/test/unit_test.hpp>

#include "experiment/runner.hpp"
#include "experiment/sweep.hpp"
#include "experiments/experiments.hpp"
#include "io/h5_results.hpp"
#include "testing.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace embedlab;
using namespace embedlab::experiment;
namespace sw = embedlab::experiment::sweep;
using embedlab::test::TempDir;

namespace {

std::vector<KeyDecl> random_variance_keys() {
  auto exp = make_experiment(experiments::registry(), "random_variance");
  auto keys = pipeline_keys(exp->embeddings_stage());
  for (const auto& k : exp->keys()) keys.push_back(k);
  return keys;
}

std::vector<std::string> axis_problems(const std::vector<std::string>& args) {
  std::vector<sw::Axis> axes;
  for (const auto& a : args) axes.push_back(sw::parse_axis(a));
  try {
    sw::validate_axes(axes, random_variance_keys());
  } catch (const ConfigError& e) {
    BOOST_TEST(e.exit_code() == 78);
    return e.problems();
  }
  return {};
}

bool any_contains(const std::vector<std::string>& v, const std::string& needle) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

int usage_code(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.exit_code();
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep)

BOOST_AUTO_TEST_CASE(parse_axis_splits_on_commas_or_semicolons) {
  const auto a = sw::parse_axis("sweep.pairs=1000, 2000,3000");
  BOOST_TEST(a.key == "sweep.pairs");
  BOOST_TEST(a.values == (std::vector<std::string>{"1000", "2000", "3000"}), boost::test_tools::per_element());
  // A list-valued key: each value is itself a comma list.
  const auto b = sw::parse_axis("sweep.dims=2,4;8,16;32");
  BOOST_TEST(b.values == (std::vector<std::string>{"2,4", "8,16", "32"}), boost::test_tools::per_element());
  BOOST_TEST(usage_code([] { sw::parse_axis("sweep.pairs"); }) == 64);
  BOOST_TEST(usage_code([] { sw::parse_axis("pairs=1,2"); }) == 64);
  BOOST_TEST(usage_code([] { sw::parse_axis("sweep.pairs="); }) == 64);
}

BOOST_AUTO_TEST_CASE(expand_is_the_cartesian_product_last_axis_fastest) {
  const std::vector<sw::Axis> axes = {{"a.x", {"1", "2", "3"}}, {"b.y", {"u", "v"}}, {"c.z", {"p", "q"}}};
  const auto pts = sw::expand(axes);
  BOOST_REQUIRE_EQUAL(pts.size(), 12u);
  // Independent enumeration: nested loops, the last innermost.
  std::size_t i = 0;
  std::set<std::string> ids;
  for (const auto& x : axes[0].values)
    for (const auto& y : axes[1].values)
      for (const auto& z : axes[2].values) {
        BOOST_TEST(pts[i].index == i);
        BOOST_TEST(pts[i].values == (std::vector<std::string>{x, y, z}), boost::test_tools::per_element());
        ids.insert(pts[i].id);
        ++i;
      }
  BOOST_TEST(ids.size() == 12u);
  BOOST_TEST(pts.front().id == "p00");
  BOOST_TEST(pts.back().id == "p11");
  BOOST_TEST(sw::expand({{"a.x", {"1"}}}).front().id == "p0");
}

BOOST_AUTO_TEST_CASE(valid_axes_pass) {
  BOOST_TEST(axis_problems({"sweep.pairs=1000,2000", "histogram.bins=20,40", "sweep.dims=2,4;8"}).empty());
  BOOST_TEST(axis_problems({"sweep.distributions=gaussian;sphere,rademacher", "report.plots=true,false"}).empty());
}

BOOST_AUTO_TEST_CASE(each_bad_value_is_one_error_naming_the_key) {
  // Type, range, allowed set, list items: the declaration's own messages, one line per bad value.
  const auto p =
      axis_problems({"sweep.pairs=1000,abc,5", "histogram.bins=20,40", "sweep.distributions=gaussian,cauchy"});
  BOOST_REQUIRE_EQUAL(p.size(), 3u);
  BOOST_TEST(any_contains(p, "--sweep sweep.pairs: wrong type (got 'abc', expected an integer)"));
  BOOST_TEST(any_contains(p, "--sweep sweep.pairs: value out of range (got 5, expected 16 ≤ x ≤ "));
  BOOST_TEST(any_contains(p, "--sweep sweep.distributions: value not allowed (got 'cauchy'"));
  const auto q = axis_problems({"sweep.dims=2,4;8,x"});
  BOOST_REQUIRE_EQUAL(q.size(), 1u);
  BOOST_TEST(any_contains(q, "--sweep sweep.dims: wrong type"));
  BOOST_TEST(any_contains(axis_problems({"sweep.confidence=0.9,2"}), "--sweep sweep.confidence: value out of range"));
  BOOST_TEST(any_contains(axis_problems({"report.plots=yes,maybe"}), "--sweep report.plots: wrong type"));
}

BOOST_AUTO_TEST_CASE(unknown_repeated_and_empty) {
  BOOST_TEST(
      any_contains(axis_problems({"sweep.pair=1,2"}), "--sweep sweep.pair: unknown key (did you mean 'sweep.pairs'?)"));
  BOOST_TEST(any_contains(axis_problems({"sweep.pairs=100", "sweep.pairs=200"}), "--sweep sweep.pairs: swept twice"));
  BOOST_TEST(any_contains(axis_problems({"sweep.pairs=100,200,100"}), "value given twice (got '100')"));
  BOOST_TEST(any_contains(axis_problems({"sweep.pairs=100,,200"}), "--sweep sweep.pairs: empty value"));
  BOOST_TEST(any_contains(axis_problems({"experiment.name=rsa,compare"}), "cannot be swept"));
  BOOST_TEST(any_contains(axis_problems({"embeddings.path=/nonexistent/e.npy"}), "input not found"));
}

BOOST_AUTO_TEST_CASE(shards_partition_the_points) {
  const auto s = sw::parse_shard("2/3");
  BOOST_TEST(s.index == 1u);
  BOOST_TEST(s.count == 3u);
  for (const char* bad : {"0/3", "4/3", "1/0", "x/2", "1", "1/2/3", "-1/2"})
    BOOST_TEST(usage_code([&] { sw::parse_shard(bad); }) == 64, bad);
  // Every point in exactly one share, also after splitting each share over ranks.
  for (std::size_t n = 1; n <= 4; ++n)
    for (int ranks = 1; ranks <= 3; ++ranks) {
      std::vector<int> owners(20, 0);
      for (std::size_t i = 0; i < n; ++i)
        for (int r = 0; r < ranks; ++r) {
          const auto share = sw::split({i, n}, r, ranks);
          for (std::size_t p = 0; p < owners.size(); ++p) owners[p] += share.has(p);
        }
      BOOST_TEST(std::all_of(owners.begin(), owners.end(), [](int c) { return c == 1; }), n << " x " << ranks);
    }
}

BOOST_AUTO_TEST_CASE(slurm_array_environment) {
  std::map<std::string, std::string> env;
  const auto get = [&](const char* k) -> const char* {
    const auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  BOOST_TEST(!sw::shard_from_env(get).has_value());
  env = {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}};
  BOOST_TEST(sw::shard_from_env(get)->index == 3u);
  env = {{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}};
  BOOST_TEST(sw::shard_from_env(get)->index == 3u);
  BOOST_TEST(sw::shard_from_env(get)->count == 4u);
  env = {{"SLURM_ARRAY_TASK_ID", "14"},
         {"SLURM_ARRAY_TASK_COUNT", "3"},
         {"SLURM_ARRAY_TASK_MIN", "10"},
         {"SLURM_ARRAY_TASK_STEP", "2"}};
  BOOST_TEST(sw::shard_from_env(get)->index == 2u);
  env = {{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}};  // 0-based: 4 is past the end
  BOOST_TEST(usage_code([&] { sw::shard_from_env(get); }) == 64);
  env = {{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "4"}};
  BOOST_TEST(usage_code([&] { sw::shard_from_env(get); }) == 64);
  env = {{"SLURM_ARRAY_TASK_COUNT", "4"}};
  BOOST_TEST(usage_code([&] { sw::shard_from_env(get); }) == 64);
}

BOOST_AUTO_TEST_CASE(headline_sources) {
  TempDir dir;
  const std::string path = dir.file("r.h5");
  {
    io::H5ResultWriter w(path);
    w.write("/a/v", std::vector<double>{1.0, 2.0, 6.0}, {"1", "v"});
    w.write("/a/one", std::vector<double>{7.5}, {"1", "one"});
    w.write("/a/n", std::vector<std::int64_t>{3, 4}, {"1", "n"});
    w.attr("/a", "x", 0.25);
    w.attr("/", "top", std::int64_t{9});
    w.commit();
  }
  io::H5ResultReader r(path);
  BOOST_TEST(sw::read_headline(r, "/a@x") == 0.25);
  BOOST_TEST(sw::read_headline(r, "/@top") == 9.0);
  BOOST_TEST(sw::read_headline(r, "/a/one") == 7.5);
  BOOST_TEST(sw::read_headline(r, "/a/v[1]") == 2.0);
  BOOST_TEST(sw::read_headline(r, "/a/v[-1]") == 6.0);
  BOOST_TEST(sw::read_headline(r, "mean(/a/v)") == 3.0);
  BOOST_TEST(sw::read_headline(r, "min(/a/v)") == 1.0);
  BOOST_TEST(sw::read_headline(r, "max(/a/v)") == 6.0);
  BOOST_TEST(sw::read_headline(r, "sum(/a/n)") == 7.0);
  for (const char* bad : {"/a/v", "/a/v[3]", "/a/v[-4]", "/a/v[x]", "/b/v", "/a@y", "/b@x", "mean(/b)"})
    BOOST_TEST(usage_code([&] { sw::read_headline(r, bad); }) == 65, bad);
}

BOOST_AUTO_TEST_CASE(every_headline_names_a_registered_experiment) {
  std::set<std::string> names;
  for (const auto& e : experiments::registry()) names.insert(e.name);
  for (const auto& [exp, hl] : experiments::headlines()) {
    BOOST_TEST(names.count(exp) == 1u, exp);
    std::set<std::string> seen;
    for (const auto& h : hl) {
      BOOST_TEST(seen.insert(h.name).second, exp << ": " << h.name);
      BOOST_TEST(!h.description.empty());
      for (const char c : h.name) BOOST_TEST((std::isalnum(static_cast<unsigned char>(c)) || c == '_'), h.name);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
