// End to end: run_experiment --sweep on random_variance (tiny sizes) through the real binary.
// Every point's datasets are compared with a separate plain run of the same values; the sweep's
// table is checked against the runs' own results.h5, recomputed here.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "h5_dump.hpp"
#include "io/h5_results.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

// Tiny cells: 2 dimensions × 2 distributions, no plots (a plot test turns them on).
const std::string kTiny =
    " --quiet --set sweep.dims=2,16 --set sweep.distributions=gaussian,sphere --set report.plots=false";

CommandResult rv(const TempDir& dir, const std::string& results, const std::string& extra,
                 const std::string& env = "") {
  return run_command(fmt::format("{}{} {} --results '{}'{}{}", env, bin("run_experiment"),
                                 source("configs/random_variance.ini"), results, kTiny, extra),
                     dir);
}

// The one sweep directory under results/random_variance/.
std::string sweep_dir(const std::string& results) {
  std::string found;
  for (const auto& e : fs::directory_iterator(fs::path(results) / "random_variance"))
    if (e.path().filename().string().starts_with("sweep-")) {
      BOOST_REQUIRE_MESSAGE(found.empty(), "two sweep directories");
      found = e.path().string();
    }
  BOOST_REQUIRE_MESSAGE(!found.empty(), "no sweep directory in " << results);
  return found;
}

// Run directories (not `latest`, not staging, not sweeps).
std::size_t run_count(const std::string& results) {
  std::size_t n = 0;
  const fs::path base = fs::path(results) / "random_variance";
  if (!fs::exists(base)) return 0;
  for (const auto& e : fs::directory_iterator(base)) {
    const auto name = e.path().filename().string();
    if (!e.is_symlink() && e.is_directory() && !name.starts_with(".") && !name.starts_with("sweep-")) ++n;
  }
  return n;
}

struct Table {
  std::vector<std::string> id, status, run_id, error;
  std::vector<double> exit_code;
  std::map<std::string, std::vector<std::string>> text_params;
  std::map<std::string, std::vector<double>> params, headlines;
};

Table read_table(const std::string& dir) {
  io::H5ResultReader r((fs::path(dir) / "sweep.h5").string());
  Table t;
  t.id = r.read_strings("/points/id");
  t.status = r.read_strings("/points/status");
  t.run_id = r.read_strings("/points/run_id");
  t.error = r.read_strings("/points/error");
  t.exit_code = r.read_doubles("/points/exit_code");
  for (const auto& d : r.datasets()) {
    if (d.starts_with("/parameters/")) {
      const std::string key = d.substr(12);
      if (key == "embeddings.path")
        t.text_params[key] = r.read_strings(d);
      else
        t.params[key] = r.read_doubles(d);
    }
    if (d.starts_with("/headlines/")) t.headlines[d.substr(11)] = r.read_doubles(d);
  }
  return t;
}

std::string run_dir_of(const std::string& results, const std::string& run_id) {
  return (fs::path(results) / "random_variance" / run_id).string();
}

// Every dataset and attribute outside /meta (the wall clock) of a run's results.h5.
std::map<std::string, std::string> datasets(const std::string& run_dir) {
  return h5_dump((fs::path(run_dir) / "results.h5").string());
}

// The gaussian_d_var headline recomputed from a run's datasets: mean of d · var.
double mean_d_var(const std::string& run_dir, const std::string& dist) {
  io::H5ResultReader r((fs::path(run_dir) / "results.h5").string());
  const auto d = r.read_doubles("/sweep/" + dist + "/d"), v = r.read_doubles("/sweep/" + dist + "/var");
  double s = 0;
  for (std::size_t i = 0; i < d.size(); ++i) s += d[i] * v[i];
  return s / static_cast<double>(d.size());
}

// A float32 npy of shape (n, d), seeded normal values; `zero_row` ≥ 0 zeroes that row.
void write_npy(const std::string& path, std::size_t n, std::size_t d, int zero_row) {
  std::vector<float> v(n * d);
  std::mt19937 gen(7);
  std::normal_distribution<float> normal;
  for (auto& x : v) x = normal(gen);
  if (zero_row >= 0)
    for (std::size_t k = 0; k < d; ++k) v[static_cast<std::size_t>(zero_row) * d + k] = 0;
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", n, d);
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  write_file(path, bytes);
}

const std::string kSix = " --sweep sweep.pairs=400,800 --sweep histogram.bins=20,30,40";
const std::vector<std::pair<std::string, std::string>> kSixValues = {{"400", "20"}, {"400", "30"}, {"400", "40"},
                                                                     {"800", "20"}, {"800", "30"}, {"800", "40"}};

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep_e2e)

BOOST_AUTO_TEST_CASE(six_points_equal_six_serial_runs) {
  TempDir dir;
  const std::string results = dir.file("sweep"), serial = dir.file("serial");
  const auto r = rv(dir, results, kSix);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(run_count(results) == 6u);
  const std::string sdir = sweep_dir(results);
  for (const char* f : {"sweep.h5", "SUMMARY.md", "sweep.json"}) BOOST_TEST(fs::exists(fs::path(sdir) / f), f);
  const Table t = read_table(sdir);
  BOOST_REQUIRE_EQUAL(t.id.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST(t.status[i] == "COMPLETED");
    BOOST_TEST(t.exit_code[i] == 0.0);
    BOOST_TEST(t.params.at("sweep.pairs")[i] == std::stod(kSixValues[i].first));
    BOOST_TEST(t.params.at("histogram.bins")[i] == std::stod(kSixValues[i].second));
    // The same values as a plain run, one at a time.
    const auto s =
        rv(dir, serial,
           fmt::format(" --set sweep.pairs={} --set histogram.bins={}", kSixValues[i].first, kSixValues[i].second));
    BOOST_REQUIRE_MESSAGE(s.exit_code == 0, s.err);
    const std::string point_run = run_dir_of(results, t.run_id[i]);
    const std::string serial_run =
        run_dir_of(serial, fs::read_symlink(fs::path(serial) / "random_variance" / "latest"));
    const auto a = datasets(point_run), b = datasets(serial_run);
    BOOST_TEST(a.size() > 20u);
    BOOST_TEST((a == b), "point " << t.id[i] << ": datasets differ from the serial run");
    // The run records its point's values in its provenance.
    io::H5ResultReader h5((fs::path(point_run) / "results.h5").string());
    BOOST_TEST(h5.attr_string("/meta", "resolved_config").find(fmt::format("pairs = {}", kSixValues[i].first)) !=
               std::string::npos);
    // Headlines recomputed from the run's datasets.
    BOOST_TEST(t.headlines.at("gaussian_d_var")[i] == mean_d_var(serial_run, "gaussian"),
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(t.headlines.at("sphere_d_var")[i] == mean_d_var(serial_run, "sphere"),
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(std::isnan(t.headlines.at("rademacher_d_var")[i]));  // not in this config
  }
  const std::string summary = read_file((fs::path(sdir) / "SUMMARY.md").string());
  BOOST_TEST(summary.find("6 points: 6 completed, 0 failed, 0 pending") != std::string::npos);
  BOOST_TEST(summary.find("| p5 | 800 | 40 | COMPLETED | " + t.run_id[5]) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(resume_skips_completed_points_and_reruns_missing_ones) {
  TempDir dir;
  const std::string results = dir.file("r");
  const std::string axes = " --sweep sweep.pairs=400,800,1200";
  BOOST_REQUIRE_EQUAL(rv(dir, results, axes).exit_code, 0);
  BOOST_REQUIRE_EQUAL(run_count(results), 3u);
  const std::string sdir = sweep_dir(results);
  const Table first = read_table(sdir);
  // Same sweep again (another --threads does not change the id): nothing runs.
  const auto again = rv(dir, results, axes + " --threads 1");
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST(run_count(results) == 3u);
  BOOST_TEST(sweep_dir(results) == sdir);
  BOOST_TEST(read_table(sdir).run_id == first.run_id, boost::test_tools::per_element());
  // A point whose run was lost (its directory deleted, or killed before its record) runs again.
  fs::remove_all(run_dir_of(results, first.run_id[1]));
  fs::remove(fs::path(sdir) / "points" / "p2.json");
  const auto third = rv(dir, results, axes);
  BOOST_REQUIRE_MESSAGE(third.exit_code == 0, third.err);
  BOOST_TEST(run_count(results) == 4u);
  const Table t = read_table(sdir);
  BOOST_TEST(t.run_id[0] == first.run_id[0]);
  BOOST_TEST(t.run_id[1] != first.run_id[1]);
  BOOST_TEST(t.run_id[2] != first.run_id[2]);
  BOOST_TEST(t.headlines.at("gaussian_d_var") == first.headlines.at("gaussian_d_var"),
             boost::test_tools::per_element());
  // Another seed is another sweep.
  BOOST_REQUIRE_EQUAL(rv(dir, dir.file("s"), axes + " --seed 7").exit_code, 0);
  BOOST_TEST(fs::path(sweep_dir(dir.file("s"))).filename() != fs::path(sdir).filename());
}

BOOST_AUTO_TEST_CASE(a_failing_point_is_failed_and_the_others_complete) {
  TempDir dir;
  const std::string good = dir.file("good.npy"), bad = dir.file("bad.npy"), results = dir.file("r");
  write_npy(good, 12, 8, -1);
  write_npy(bad, 12, 8, 5);  // a zero row: valid file, refused by [normalize] bad_rows = fail at run time
  const std::string axes = fmt::format(" --sweep embeddings.path={},{} --sweep sweep.pairs=400,800", good, bad);
  const auto r = rv(dir, results, axes);
  BOOST_TEST(r.exit_code == 65, r.err);
  const Table t = read_table(sweep_dir(results));
  BOOST_REQUIRE_EQUAL(t.id.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    const bool failing = i >= 2;
    BOOST_TEST(t.text_params.at("embeddings.path")[i] == (failing ? bad : good));
    BOOST_TEST(t.status[i] == (failing ? "FAILED" : "COMPLETED"));
    BOOST_TEST(t.exit_code[i] == (failing ? 65.0 : 0.0));
    BOOST_TEST((t.error[i].find("row 5") != std::string::npos) == failing, t.error[i]);
    BOOST_TEST(t.error[i].find('\n') == std::string::npos);
    BOOST_TEST(std::isnan(t.headlines.at("real_var")[i]) == failing);
    // The failed point's run directory exists and says FAILED with the same error.
    BOOST_REQUIRE(!t.run_id[i].empty());
    const auto run_json =
        nlohmann::json::parse(read_file((fs::path(run_dir_of(results, t.run_id[i])) / "run.json").string()));
    BOOST_TEST(run_json["status"] == (failing ? "FAILED" : "COMPLETED"));
  }
  // Again: the completed points are skipped, the failed ones run (and fail) again.
  const auto again = rv(dir, results, axes);
  BOOST_TEST(again.exit_code == 65);
  BOOST_TEST(run_count(results) == 6u);
}

BOOST_AUTO_TEST_CASE(bad_values_are_refused_before_anything_runs) {
  TempDir dir;
  const std::string results = dir.file("r");
  const auto r = rv(dir, results, " --sweep sweep.pairs=400,800 --sweep histogram.bins=20,5");
  BOOST_TEST(r.exit_code == 78);
  BOOST_TEST(r.err == "error: --sweep histogram.bins: value out of range (got 5, expected 10 ≤ x ≤ 100000)\n");
  BOOST_TEST(!fs::exists(results));
  // A problem of one point's whole config (here the memory guard) is named with its point.
  const auto m = rv(dir, results, " --sweep sweep.pairs=400,100000000 --max-memory 64M");
  BOOST_TEST(m.exit_code == 78);
  BOOST_TEST(m.err.find("error: sweep point p1 (sweep.pairs=100000000): --set: sweep.pairs: needs") == 0, m.err);
  BOOST_TEST(std::count(m.err.begin(), m.err.end(), '\n') == 1);
  const auto p = rv(dir, results, " --sweep sweep.pairs=400,800 --sweep-plot histogram.bins:gaussian_d_var");
  BOOST_TEST(p.exit_code == 64);
  BOOST_TEST(p.err.find("not a numeric swept key") != std::string::npos, p.err);
  const auto h = rv(dir, results, " --sweep sweep.pairs=400,800 --sweep-plot sweep.pairs:nope");
  BOOST_TEST(h.exit_code == 64);
  BOOST_TEST(h.err.find("expected one of gaussian_d_var|") != std::string::npos, h.err);
  BOOST_TEST(rv(dir, results, " --shard 1/2").exit_code == 64);
  BOOST_TEST(!fs::exists(results));
}

BOOST_AUTO_TEST_CASE(shards_together_equal_the_unsharded_sweep) {
  TempDir dir;
  const std::string whole = dir.file("whole"), parts = dir.file("parts");
  BOOST_REQUIRE_EQUAL(rv(dir, whole, kSix).exit_code, 0);
  const auto one = rv(dir, parts, kSix + " --shard 1/2");
  BOOST_REQUIRE_MESSAGE(one.exit_code == 0, one.err);
  BOOST_TEST(run_count(parts) == 3u);
  const Table half = read_table(sweep_dir(parts));
  for (std::size_t i = 0; i < 6; ++i) BOOST_TEST(half.status[i] == (i % 2 == 0 ? "COMPLETED" : "PENDING"));
  // The second share from a Slurm job array's environment (tasks 1..2).
  const auto two = rv(dir, parts, kSix, "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=2 ");
  BOOST_REQUIRE_MESSAGE(two.exit_code == 0, two.err);
  BOOST_TEST(run_count(parts) == 6u);
  BOOST_TEST(fs::path(sweep_dir(parts)).filename() == fs::path(sweep_dir(whole)).filename());
  const Table a = read_table(sweep_dir(whole)), b = read_table(sweep_dir(parts));
  BOOST_TEST(a.status == b.status, boost::test_tools::per_element());
  BOOST_TEST(a.params == b.params);
  for (const auto& [name, v] : a.headlines)
    for (std::size_t i = 0; i < 6; ++i)
      BOOST_TEST((v[i] == b.headlines.at(name)[i] || (std::isnan(v[i]) && std::isnan(b.headlines.at(name)[i]))), name);
  for (std::size_t i = 0; i < 6; ++i)
    BOOST_TEST((datasets(run_dir_of(whole, a.run_id[i])) == datasets(run_dir_of(parts, b.run_id[i]))), i);
}

BOOST_AUTO_TEST_CASE(summary_plots_a_headline_against_a_swept_key) {
  TempDir dir;
  const std::string results = dir.file("r");
  const auto r = rv(dir, results,
                    " --set report.plots=true --sweep sweep.pairs=400,800 --sweep histogram.bins=20,40 "
                    "--sweep-plot sweep.pairs:sphere_d_var");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string sdir = sweep_dir(results);
  const std::string summary = read_file((fs::path(sdir) / "SUMMARY.md").string());
  BOOST_TEST(summary.find("sphere\\_d\\_var against sweep\\.pairs") != std::string::npos, summary);
  if (summary.find("plot not drawn") == std::string::npos)
    BOOST_TEST(fs::file_size(fs::path(sdir) / "plot_sweep_pairs_sphere_d_var.png") > 1000u);
  for (const auto& e : fs::directory_iterator(sdir)) {  // the plot's script and data files are gone
    const auto ext = e.path().extension().string();
    BOOST_TEST((ext != ".gp" && ext != ".dat" && ext != ".str"), e.path().string());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sweep_mpi)

namespace {
// mpirun with three ranks on this machine. Under AddressSanitizer OpenMPI's own allocations at exit
// would be reported as leaks by every rank: leak detection is off for these processes only.
std::string mpirun3() {
  return fmt::format("{}{} --oversubscribe --allow-run-as-root -np 3 ",
                     kAddressSanitizer ? "ASAN_OPTIONS=detect_leaks=0 " : "", EMBEDLAB_MPIEXEC);
}
}  // namespace

// Six points over three ranks (loopback, oversubscribed): the same table and the same datasets as
// the serial sweep, each point run whole by one rank.
BOOST_AUTO_TEST_CASE(six_points_over_three_ranks_equal_the_serial_sweep) {
  TempDir dir;
  const std::string serial = dir.file("serial"), ranks = dir.file("ranks");
  BOOST_REQUIRE_EQUAL(rv(dir, serial, kSix + " --threads 1").exit_code, 0);
  const auto r = rv(dir, ranks, kSix + " --threads 1", mpirun3());
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(run_count(ranks) == 6u);
  BOOST_TEST(fs::path(sweep_dir(ranks)).filename() == fs::path(sweep_dir(serial)).filename());
  const Table a = read_table(sweep_dir(serial)), b = read_table(sweep_dir(ranks));
  BOOST_TEST(b.status == a.status, boost::test_tools::per_element());
  BOOST_TEST(b.params == a.params);
  std::set<long> pids;
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST(b.status[i] == "COMPLETED");
    for (const auto& [name, v] : a.headlines)
      BOOST_TEST((v[i] == b.headlines.at(name)[i] || (std::isnan(v[i]) && std::isnan(b.headlines.at(name)[i]))), name);
    BOOST_TEST((datasets(run_dir_of(serial, a.run_id[i])) == datasets(run_dir_of(ranks, b.run_id[i]))), i);
    const auto run_json =
        nlohmann::json::parse(read_file((fs::path(run_dir_of(ranks, b.run_id[i])) / "run.json").string()));
    pids.insert(run_json["pid"].get<long>());
  }
  BOOST_TEST(pids.size() == 3u);  // point p on rank p mod 3: two points per process
  // Resume under mpirun: nothing runs again.
  const auto again = rv(dir, ranks, kSix + " --threads 1", mpirun3());
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  BOOST_TEST(run_count(ranks) == 6u);
}

BOOST_AUTO_TEST_SUITE_END()
