// End to end: configs/random_variance.ini through the real binary, checked through the HDF5 API.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <csignal>
#include <thread>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

const std::string kSmall = " --quiet --set sweep.pairs=20000 --set sweep.dims=2,16,128,768 --set report.plots=false";

std::string run_rv(const TempDir& dir, const std::string& results, const std::string& extra = "") {
  const auto r = run_command(fmt::format("{} {} --results '{}'{}{}", bin("run_experiment"),
                                         source("configs/random_variance.ini"), results, kSmall, extra),
                             dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return only_run_dir(results, "random_variance");
}

std::vector<std::string> sweep_datasets(const io::H5ResultReader& r) {
  std::vector<std::string> out;
  for (const auto& d : r.datasets())
    if (!d.starts_with("/meta")) out.push_back(d);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(random_variance_e2e)

BOOST_AUTO_TEST_CASE(writes_results_report_and_provenance) {
  TempDir dir;
  const std::string run = run_rv(dir, dir.file("results"));
  BOOST_REQUIRE(!run.empty());
  for (const char* f : {"results.h5", "report.md", "run.json"}) BOOST_TEST(fs::exists(fs::path(run) / f), f);
  BOOST_TEST(fs::is_symlink(fs::path(dir.file("results")) / "random_variance" / "latest"));
  const auto status = nlohmann::json::parse(read_file((fs::path(run) / "run.json").string()));
  BOOST_TEST(status["status"] == "COMPLETED");

  io::H5ResultReader r((fs::path(run) / "results.h5").string());
  BOOST_TEST(r.attr_string("/meta", "config_text") == read_file(source("configs/random_variance.ini")));
  BOOST_TEST(r.attr_string("/meta", "config_sha256").size() == 64u);
  BOOST_TEST(r.attr_string("/meta", "resolved_config").find("pairs = 20000") != std::string::npos);
  BOOST_TEST(r.attr_double("/meta", "seed") == 42.0);
  for (const char* a : {"git_commit", "compiler", "armadillo_version", "openblas_version", "hdf5_version",
                        "boost_version", "fmt_version", "host_cpu", "started_utc", "finished_utc"})
    BOOST_TEST(!r.attr_string("/meta", a).empty(), a);
  const double wall = r.attr_double("/meta", "wall_seconds"), prep = r.attr_double("/meta", "prepare_seconds"),
               body = r.attr_double("/meta", "run_seconds");
  BOOST_TEST(prep >= 0.0);
  BOOST_TEST(body >= 0.0);
  BOOST_TEST(prep + body == wall, boost::test_tools::tolerance(1e-9));

  // 24 intervals at 95% (variance and mean, 3 distributions × 4 dimensions): with one seed all 24
  // cover their true value only ~29% of the time (0.95^24), so the coverage is counted: misses are
  // Binomial(24, 0.05), mean 1.2, and ≥ 7 has probability ~1e-4 for a correct implementation,
  // whatever the seed. Each estimate must also be within 5 standard errors (half-width / 1.96).
  int misses = 0;
  const auto check = [&](double lo, double hi, double truth, const std::string& what) {
    misses += (lo <= truth && truth <= hi) ? 0 : 1;
    const double se = (hi - lo) / (2 * 1.96);
    BOOST_TEST(std::abs(0.5 * (lo + hi) - truth) <= 5 * se, what << ": [" << lo << ", " << hi << "] vs " << truth);
  };
  for (const char* dist : {"gaussian", "sphere", "rademacher"}) {
    const std::string g = std::string("/sweep/") + dist;
    const auto d = r.read_doubles(g + "/d"), var = r.read_doubles(g + "/var");
    const auto lo = r.read_doubles(g + "/var_ci_low"), hi = r.read_doubles(g + "/var_ci_high");
    const auto mlo = r.read_doubles(g + "/mean_ci_low"), mhi = r.read_doubles(g + "/mean_ci_high");
    BOOST_REQUIRE_EQUAL(d.size(), 4u);
    BOOST_TEST(r.attr_string(g + "/var", "units") == "1");
    BOOST_TEST(!r.attr_string(g + "/var", "description").empty());
    for (std::size_t i = 0; i < d.size(); ++i) {
      // d·Var within its interval of 1 ⇔ 1/d within the variance interval; mean within its interval of 0.
      check(lo[i], hi[i], 1.0 / d[i], fmt::format("{} d={} Var", dist, d[i]));
      check(mlo[i], mhi[i], 0.0, fmt::format("{} d={} mean", dist, d[i]));
    }
  }
  BOOST_TEST(misses <= 6, misses << " of 24 intervals miss their true value");
  BOOST_TEST(r.exists("/histogram/gaussian/counts"));
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("## Provenance") != std::string::npos);
  BOOST_TEST(report.find("| gaussian | 768 |") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(same_seed_bit_identical_whatever_threads) {
  TempDir dir;
  const std::string a = run_rv(dir, dir.file("r1"), " --threads 1");
  const std::string b = run_rv(dir, dir.file("r2"), " --threads 2");
  io::H5ResultReader ra((fs::path(a) / "results.h5").string()), rb((fs::path(b) / "results.h5").string());
  const auto names = sweep_datasets(ra);
  BOOST_TEST(names == sweep_datasets(rb));
  for (const auto& n : names) {
    const auto x = ra.read_doubles(n), y = rb.read_doubles(n);
    BOOST_TEST(std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0, n);
  }
  // A different seed changes the numbers.
  const std::string c = run_rv(dir, dir.file("r3"), " --seed 7");
  io::H5ResultReader rc((fs::path(c) / "results.h5").string());
  BOOST_TEST(ra.read_doubles("/sweep/gaussian/var") != rc.read_doubles("/sweep/gaussian/var"));
}

BOOST_AUTO_TEST_CASE(two_runs_get_distinct_directories) {
  TempDir dir;
  const std::string results = dir.file("results");
  run_rv(dir, results);
  const auto r = run_command(fmt::format("{} {} --results '{}'{}", bin("run_experiment"),
                                         source("configs/random_variance.ini"), results, kSmall),
                             dir);
  BOOST_REQUIRE(r.exit_code == 0);
  int runs = 0;
  for (const auto& e : fs::directory_iterator(fs::path(results) / "random_variance"))
    if (!e.is_symlink()) ++runs;
  BOOST_TEST(runs == 2);
}

BOOST_AUTO_TEST_CASE(bad_key_exits_78_with_one_line) {
  TempDir dir;
  const auto r = run_command(fmt::format("{} {} --results '{}' --set sweep.dims=abc", bin("run_experiment"),
                                         source("configs/random_variance.ini"), dir.file("results")),
                             dir);
  BOOST_TEST(r.exit_code == 78);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  BOOST_TEST(r.err.find("sweep.dims") != std::string::npos, r.err);
  BOOST_TEST(!fs::exists(dir.file("results")));  // nothing created for an invalid config
}

BOOST_AUTO_TEST_CASE(results_path_is_a_file) {
  TempDir dir;
  write_file(dir.file("results"), "not a directory");
  const auto r = run_command(fmt::format("{} {} --results '{}'{}", bin("run_experiment"),
                                         source("configs/random_variance.ini"), dir.file("results"), kSmall),
                             dir);
  BOOST_TEST(r.exit_code == 73);
  BOOST_TEST(r.err.find("not a directory") != std::string::npos, r.err);
  BOOST_TEST(read_file(dir.file("results")) == "not a directory");
}

BOOST_AUTO_TEST_CASE(sigterm_marks_run_interrupted_and_removes_temps) {
  TempDir dir;
  const std::string results = dir.file("results");
  // A long sweep, killed while it computes.
  const std::string cmd =
      fmt::format("exec {} {} --results '{}' --quiet --set sweep.pairs=50000000 --set sweep.dims=4096",
                  bin("run_experiment"), source("configs/random_variance.ini"), results);
  const pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the run directory and its RUNNING status exist.
  std::string run;
  for (int i = 0; i < 200 && run.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fs::exists(fs::path(results) / "random_variance")) run = only_run_dir(results, "random_variance");
  }
  BOOST_REQUIRE(!run.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 143);
  const auto j = nlohmann::json::parse(read_file((fs::path(run) / "run.json").string()));
  BOOST_TEST(j["status"] == "INTERRUPTED");
  for (const auto& e : fs::directory_iterator(run))
    BOOST_TEST(e.path().filename().string().find(".tmp") == std::string::npos, e.path());
  BOOST_TEST(!fs::exists(fs::path(run) / "results.h5"));
  BOOST_TEST(!fs::exists(fs::path(results) / "random_variance" / "latest"));
}

BOOST_AUTO_TEST_SUITE_END()
