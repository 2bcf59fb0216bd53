// The binaries under `mpirun -np N` (loopback, this machine) against the same command without
// mpirun: stdout of `embedlab stats --json` byte for byte, every dataset and attribute of
// `embedlab neighbors --out` and of the experiments' results.h5 bit for bit (only the wall clock
// left out, as in the reproducibility test), for N = 1..4 — and the fault cases: an error on one
// rank ends all ranks with that rank's one-line message and exit code and run.json says FAILED;
// a SIGKILLed rank leaves no file under a final name.
#include <boost/test/unit_test.hpp>

#include "../e2e/e2e_util.hpp"
#include "../e2e/h5_dump.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

std::string mpirun(int np) {
  return fmt::format("{} --oversubscribe --allow-run-as-root -np {} ", EMBEDLAB_MPIEXEC, np);
}

const char* kGlove = "glove-6B-50d-subset/glove.6B.50d.subset3091.txt";

bool clock_entry(const std::string& name) {
  static const char* const kClock[] = {"/meta@started_utc",     "/meta@finished_utc", "/meta@wall_seconds",
                                       "/meta@prepare_seconds", "/meta@run_seconds",  "/meta@memory_limit_bytes"};
  return std::any_of(std::begin(kClock), std::end(kClock), [&](const char* k) { return name == k; }) ||
         name.starts_with("/meta/timing");
}

std::map<std::string, std::string> dump_without_clock(const std::string& file) {
  auto d = h5_dump(file, "");
  std::erase_if(d, [](const auto& kv) { return clock_entry(kv.first); });
  return d;
}

void check_same(const std::map<std::string, std::string>& serial, const std::map<std::string, std::string>& dist,
                const std::string& label) {
  BOOST_TEST(!serial.empty(), label << ": nothing in the serial results");
  std::vector<std::string> a, b;
  for (const auto& kv : serial) a.push_back(kv.first);
  for (const auto& kv : dist) b.push_back(kv.first);
  BOOST_REQUIRE_MESSAGE(a == b, label << ": different datasets/attributes");
  for (const auto& [name, bytes] : serial) BOOST_TEST(bytes == dist.at(name), label << ": " << name << " differs");
}

// results/<experiment>/<run>/results.h5 of a run of `config` with `sets`; `launcher` is "" or mpirun.
std::string run_experiment(const std::string& launcher, const std::string& config, const std::string& sets,
                           const std::string& results, const TempDir& dir, int* exit_code = nullptr,
                           std::string* err = nullptr, const std::string& env = "") {
  const auto r = run_command(fmt::format("{}{}{} {} --results '{}' --quiet --set report.plots=false --threads 1 {}",
                                         env, launcher, bin("run_experiment"), source(config), results, sets),
                             dir);
  if (exit_code) *exit_code = r.exit_code;
  if (err) *err = r.err;
  if (!exit_code) BOOST_REQUIRE_MESSAGE(r.exit_code == 0, launcher << config << ": " << r.err);
  return results;
}

// The file names (recursive, relative) under a run directory.
std::vector<std::string> files_of(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

// The table rows of a run's report.md (every number of the report) but the timing tables' (a table
// whose header names seconds, as "Where the time went").
std::vector<std::string> report_tables(const std::string& run) {
  std::vector<std::string> rows;
  std::istringstream in(read_file((fs::path(run) / "report.md").string()));
  bool in_table = false, timing = false;
  for (std::string line; std::getline(in, line);) {
    const bool row = line.starts_with("|");
    if (row && !in_table) timing = line.find("second") != std::string::npos;
    in_table = row;
    if (row && !timing) rows.push_back(line);
  }
  BOOST_TEST(!rows.empty(), run << ": no table in report.md");
  return rows;
}

// word_benchmarks on the GloVe subset: WordSim-353 and, when `analogies`, the word2vec analogy set.
std::string word_benchmarks_sets(bool analogies) {
  const std::string data = EMBEDLAB_TEST_DATA;
  return fmt::format(
      "--set embeddings.path='{}' --set embeddings.format=glove --set "
      "benchmarks.word_pairs={}/peer-files/wordsim353.tsv --set benchmarks.analogies='{}'",
      fixture(kGlove), data, analogies ? data + "/peer-files/questions-words.txt" : "");
}

std::string single_run(const std::string& results, const std::string& experiment) {
  const std::string run = only_run_dir(results, experiment);
  BOOST_REQUIRE_MESSAGE(!run.empty(), "no single run directory under " << results << "/" << experiment);
  return run;
}

// A word2vec binary of n random rows of dimension d (rows 7 and n − 2 are copies of row 3: exact
// ties across blocks); `nan_row` (when < n) holds a NaN. 5000 rows are 3 tiles of 2048 rows.
std::string write_w2v(const TempDir& dir, const std::string& name, std::size_t n, std::size_t d,
                      std::size_t nan_row = SIZE_MAX) {
  std::mt19937 rng(kSeed);
  std::normal_distribution<float> g;
  std::vector<float> v(n * d);
  for (auto& x : v) x = g(rng);
  for (std::size_t k = 0; k < d; ++k) v[7 * d + k] = v[(n - 2) * d + k] = v[3 * d + k];
  if (nan_row < n) v[nan_row * d + 1] = std::numeric_limits<float>::quiet_NaN();
  const std::string path = dir.file(name);
  std::ofstream out(path, std::ios::binary);
  out << n << " " << d << "\n";
  for (std::size_t i = 0; i < n; ++i) {
    out << "w" << i << " ";
    out.write(reinterpret_cast<const char*>(v.data() + i * d), static_cast<std::streamsize>(d * 4));
    out << "\n";
  }
  return path;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mpi_e2e)

BOOST_AUTO_TEST_CASE(distribute_rows_equals_replicated_and_serial) {
  TempDir dir;
  const std::string file = write_w2v(dir, "rows.bin", 5000, 16);
  const auto serial = run_command(fmt::format("{} stats '{}' --json --threads 1", bin("embedlab"), file), dir);
  BOOST_REQUIRE_MESSAGE(serial.exit_code == 0, serial.err);
  const auto ref = nlohmann::json::parse(serial.out);
  const std::string n0 = dir.file("n0.h5");
  BOOST_REQUIRE(
      run_command(fmt::format("{} neighbors '{}' --all --k 10 --threads 1 --out '{}'", bin("embedlab"), file, n0), dir)
          .exit_code == 0);
  const auto ref_n = dump_without_clock(n0);
  BOOST_TEST(ref_n.count("/tokens") == 1u);
  for (int np = 1; np <= 4; ++np) {
    // np 4: more ranks than the 3 tiles (one rank holds no rows).
    const std::string launcher = np == 1 ? std::string() : mpirun(np);
    const auto s = run_command(
        fmt::format("{}{} stats '{}' --json --threads 1 --distribute rows", launcher, bin("embedlab"), file), dir);
    BOOST_REQUIRE_MESSAGE(s.exit_code == 0, s.err);
    const auto j = nlohmann::json::parse(s.out);
    BOOST_TEST(j.size() == 10u);
    for (const auto& [key, value] : j.items())
      BOOST_TEST(value.dump() == ref.at(key).dump(), "stats --distribute rows -np " << np << ": " << key);
    const std::string n = dir.file(fmt::format("r{}.h5", np));
    const auto r = run_command(fmt::format("{}{} neighbors '{}' --all --k 10 --threads 1 --distribute rows --out '{}'",
                                           launcher, bin("embedlab"), file, n),
                               dir);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    check_same(ref_n, dump_without_clock(n), fmt::format("neighbors --distribute rows -np {}", np));
  }
  // The per-rank estimate, and a bad value.
  const auto dry =
      run_command(fmt::format("{}{} stats '{}' --distribute rows --dry-run", mpirun(3), bin("embedlab"), file), dir);
  BOOST_TEST(dry.exit_code == 0, dry.err);
  BOOST_TEST(dry.out.find("rank 2: rows [4096, 5000) = 904 rows") != std::string::npos, dry.out);
  const auto bad = run_command(fmt::format("{} stats '{}' --distribute columns", bin("embedlab"), file), dir);
  BOOST_TEST(bad.exit_code == 64);
  BOOST_TEST(bad.err.find("--distribute: 'columns' is not one of replicated, rows") != std::string::npos, bad.err);
}

BOOST_AUTO_TEST_CASE(distribute_rows_faults_end_every_rank_with_one_message) {
  TempDir dir;
  // A NaN in the last block: only rank 2 of 3 reads it; every rank ends with its one-line message.
  const std::string nan = write_w2v(dir, "nan.bin", 5000, 16, 4500);
  const auto r =
      run_command(fmt::format("{}{} stats '{}' --distribute rows --threads 1", mpirun(3), bin("embedlab"), nan), dir);
  BOOST_TEST(r.exit_code == 65, r.err);
  BOOST_TEST(r.err.find("row 4500 (token 'w4500'): value 2 is not finite") != std::string::npos, r.err);
  // The one-line message once, whatever the launcher adds after it.
  BOOST_TEST(r.err.find("error: ") == r.err.rfind("error: "), r.err);
  // A file cut short: refused on every rank, one line, no output file.
  const std::string cut = write_w2v(dir, "cut.bin", 5000, 16);
  fs::resize_file(cut, fs::file_size(cut) - 100);
  const std::string out = dir.file("cut.h5");
  const auto c = run_command(fmt::format("{}{} neighbors '{}' --all --distribute rows --threads 1 --out '{}'",
                                         mpirun(2), bin("embedlab"), cut, out),
                             dir);
  BOOST_TEST(c.exit_code == 65, c.err);
  BOOST_TEST(c.err.find("truncated") != std::string::npos, c.err);
  BOOST_TEST(c.err.find("error: ") == c.err.rfind("error: "), c.err);
  BOOST_TEST(!fs::exists(out));
}

BOOST_AUTO_TEST_CASE(stats_json_and_neighbors_equal_the_serial_run_for_1_to_4_ranks) {
  TempDir dir;
  const std::string file = fixture(kGlove);
  const auto serial = run_command(fmt::format("{} stats '{}' --json --threads 1", bin("embedlab"), file), dir);
  BOOST_REQUIRE_MESSAGE(serial.exit_code == 0, serial.err);
  BOOST_TEST(serial.out.find("\"pairs\": 4775595") != std::string::npos);  // 3091·3090/2
  const std::string n0 = dir.file("n0.h5"), c0 = dir.file("c0.h5");
  for (const auto& [out, extra] : {std::pair{n0, ""}, std::pair{c0, " --csls"}}) {
    const auto r = run_command(
        fmt::format("{} neighbors '{}' --all --k 10{} --threads 1 --out '{}'", bin("embedlab"), file, extra, out), dir);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  const auto ref_n = dump_without_clock(n0), ref_c = dump_without_clock(c0);
  for (int np = 1; np <= 4; ++np) {
    const auto s =
        run_command(fmt::format("{}{} stats '{}' --json --threads 1", mpirun(np), bin("embedlab"), file), dir);
    BOOST_REQUIRE_MESSAGE(s.exit_code == 0, s.err);
    BOOST_TEST(s.out == serial.out, "stats --json differs with -np " << np);
    const std::string n = dir.file(fmt::format("n{}.h5", np));
    const auto r = run_command(
        fmt::format("{}{} neighbors '{}' --all --k 10 --threads 1 --out '{}'", mpirun(np), bin("embedlab"), file, n),
        dir);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(std::count(r.out.begin(), r.out.end(), '\n') == 1, "one summary line, from rank 0");
    check_same(ref_n, dump_without_clock(n), fmt::format("neighbors -np {}", np));
    if (np == 3) {
      const std::string c = dir.file("c3.h5");
      const auto rc = run_command(fmt::format("{}{} neighbors '{}' --all --k 10 --csls --threads 1 --out '{}'",
                                              mpirun(np), bin("embedlab"), file, c),
                                  dir);
      BOOST_REQUIRE_MESSAGE(rc.exit_code == 0, rc.err);
      check_same(ref_c, dump_without_clock(c), "neighbors --csls -np 3");
    }
  }
}

BOOST_AUTO_TEST_CASE(experiments_equal_the_serial_run) {
  struct Case {
    const char* experiment;
    const char* config;
    std::string sets;
    std::vector<int> ranks;
  };
  const std::string glove = fixture(kGlove);
  const Case cases[] = {
      {"vocab_geometry",
       "configs/vocab_geometry.ini",
       fmt::format("--set embeddings.path='{}' --set gaussian.samples=1500", glove),
       {3}},
      {"word_benchmarks", "configs/word_benchmarks.ini", word_benchmarks_sets(true), {2, 3}},
      {"rsa",
       "configs/rsa_halves.ini",
       fmt::format("--set space_a.path='{}' --set words.count=120 --set compare.permutations=99 --set "
                   "compare.bootstrap=50",
                   glove),
       {2}},
      {"random_variance", "configs/random_variance.ini", "--set sweep.pairs=2000 --set sweep.dims=2,16,128", {2, 4}},
      {"compare",
       "configs/compare_halves.ini",
       fmt::format("--set space_a.path='{}' --set compare.permutations=21 --set compare.bootstrap=7", glove),
       {3}},
  };
  for (const auto& c : cases) {
    TempDir dir;
    const std::string serial_run =
        single_run(run_experiment("", c.config, c.sets, dir.file("serial"), dir), c.experiment);
    const auto ref = dump_without_clock((fs::path(serial_run) / "results.h5").string());
    for (int np : c.ranks) {
      // A private $TMPDIR for the ranks (OpenMPI puts its session directory there too).
      const std::string tmp = dir.file(fmt::format("tmp{}", np));
      fs::create_directories(tmp);
      const std::string results = run_experiment(mpirun(np), c.config, c.sets, dir.file(fmt::format("np{}", np)), dir,
                                                 nullptr, nullptr, fmt::format("TMPDIR='{}' ", tmp));
      const std::string run = single_run(results, c.experiment);
      check_same(ref, dump_without_clock((fs::path(run) / "results.h5").string()),
                 fmt::format("{} -np {}", c.experiment, np));
      // Rank 0 alone wrote: one run directory (checked by single_run) holding the serial run's files,
      // and nothing of embedlab's appeared in $TMPDIR (the other ranks create no file anywhere).
      BOOST_TEST(files_of(run) == files_of(serial_run), c.experiment << " -np " << np << ": other files");
      BOOST_TEST(report_tables(run) == report_tables(serial_run), c.experiment << " -np " << np << ": report differs");
      for (const auto& e : fs::recursive_directory_iterator(tmp))
        BOOST_TEST(e.path().filename().string().find("embedlab") == std::string::npos, "in $TMPDIR: " << e.path());
    }
  }
}

BOOST_AUTO_TEST_CASE(an_error_on_one_rank_ends_every_rank_with_its_message_and_code) {
  TempDir dir;
  const std::string file = fixture(kGlove);
  // Inside the kernel's agreed region (the message travels to every rank) and outside it (MPI_Abort).
  for (const char* kind : {"error", "local"}) {
    const std::string out = dir.file(fmt::format("{}.h5", kind));
    const auto r = run_command(fmt::format("EMBEDLAB_INJECT_FAULT=2:{} {}{} neighbors '{}' --all --k 5 --out '{}'",
                                           kind, mpirun(3), bin("embedlab"), file, out),
                               dir);
    BOOST_TEST(r.exit_code == 65, kind << ": " << r.err);
    const std::string line = fmt::format("error: fault injection: rank 2 of 3: injected {}", kind);
    BOOST_TEST(r.err.find(line) != std::string::npos, kind << ": " << r.err);
    // The one-line message once, whatever the launcher adds after it.
    std::size_t count = 0;
    for (std::size_t at = 0; (at = r.err.find("error: fault injection", at)) != std::string::npos; ++at) ++count;
    BOOST_TEST(count == 1u, kind << ": " << r.err);
    BOOST_TEST(!fs::exists(out));
  }
  // The experiment's run.json records the failing rank's message and code.
  int code = 0;
  std::string err;
  const std::string results =
      run_experiment(mpirun(3), "configs/vocab_geometry.ini",
                     fmt::format("--set embeddings.path='{}' --set gaussian.samples=1500", file), dir.file("failed"),
                     dir, &code, &err, "EMBEDLAB_INJECT_FAULT=1:error ");
  BOOST_TEST(code == 65, err);
  const std::string run = single_run(results, "vocab_geometry");
  const auto j = nlohmann::json::parse(read_file((fs::path(run) / "run.json").string()));
  BOOST_TEST(j["status"] == "FAILED");
  BOOST_TEST(j["exit_code"] == 65);
  BOOST_TEST(j["error"].get<std::string>().starts_with("fault injection: rank 1 of 3: injected error"));
  BOOST_TEST(!fs::exists(fs::path(run) / "results.h5"));
  // The same in the distributed permutations (RSA's Mantel test), on rank 1 of 2.
  const std::string rsa_results = run_experiment(
      mpirun(2), "configs/rsa_halves.ini",
      fmt::format("--set space_a.path='{}' --set words.count=60 --set compare.permutations=9 --set compare.bootstrap=5",
                  file),
      dir.file("rsa_failed"), dir, &code, &err, "EMBEDLAB_INJECT_FAULT=1:error ");
  BOOST_TEST(code == 65, err);
  BOOST_TEST(err.find("error: fault injection: rank 1 of 2: injected error") != std::string::npos, err);
  const std::string rsa_run = single_run(rsa_results, "rsa");
  const auto jr = nlohmann::json::parse(read_file((fs::path(rsa_run) / "run.json").string()));
  BOOST_TEST(jr["status"] == "FAILED");
  BOOST_TEST(jr["exit_code"] == 65);
  BOOST_TEST(!fs::exists(fs::path(rsa_run) / "results.h5"));
  // The same in the analogies of word_benchmarks, on rank 1 of 2; without analogies the run completes
  // (the fault point hit is the analogies').
  const std::string wb_results =
      run_experiment(mpirun(2), "configs/word_benchmarks.ini", word_benchmarks_sets(true), dir.file("wb_failed"), dir,
                     &code, &err, "EMBEDLAB_INJECT_FAULT=1:error ");
  BOOST_TEST(code == 65, err);
  const std::string line = "error: fault injection: rank 1 of 2: injected error";
  BOOST_TEST(err.find(line) != std::string::npos, err);
  BOOST_TEST(err.find(line) == err.rfind("error: fault injection"), "the message once: " << err);
  const std::string wb_run = single_run(wb_results, "word_benchmarks");
  const auto jw = nlohmann::json::parse(read_file((fs::path(wb_run) / "run.json").string()));
  BOOST_TEST(jw["status"] == "FAILED");
  BOOST_TEST(jw["exit_code"] == 65);
  BOOST_TEST(jw["error"].get<std::string>().starts_with("fault injection: rank 1 of 2: injected error"));
  BOOST_TEST(!fs::exists(fs::path(wb_run) / "results.h5"));
  run_experiment(mpirun(2), "configs/word_benchmarks.ini", word_benchmarks_sets(false), dir.file("wb_no_analogies"),
                 dir, &code, &err, "EMBEDLAB_INJECT_FAULT=1:error ");
  BOOST_TEST(code == 0, err);
}

BOOST_AUTO_TEST_CASE(a_killed_rank_leaves_no_file_under_a_final_name) {
  TempDir dir;
  const std::string file = fixture(kGlove);
  const std::string out = dir.file("killed.h5");
  const auto r = run_command(fmt::format("EMBEDLAB_INJECT_FAULT=1:kill {}{} neighbors '{}' --all --k 5 --out '{}'",
                                         mpirun(2), bin("embedlab"), file, out),
                             dir);
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(!fs::exists(out));
  int code = 0;
  std::string err;
  const std::string results =
      run_experiment(mpirun(3), "configs/vocab_geometry.ini",
                     fmt::format("--set embeddings.path='{}' --set gaussian.samples=1500", file), dir.file("killed"),
                     dir, &code, &err, "EMBEDLAB_INJECT_FAULT=2:kill ");
  BOOST_TEST(code != 0);
  const std::string run = only_run_dir(results, "vocab_geometry");
  if (!run.empty()) {  // rank 0 was stopped after the run directory appeared
    BOOST_TEST(!fs::exists(fs::path(run) / "results.h5"));
    BOOST_TEST(!fs::exists(fs::path(run) / "report.md"));
    const auto j = nlohmann::json::parse(read_file((fs::path(run) / "run.json").string()));
    BOOST_TEST(j["status"] != "COMPLETED");
  }
}

BOOST_AUTO_TEST_SUITE_END()
