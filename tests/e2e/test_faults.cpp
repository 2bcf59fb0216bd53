// Fault injection around result writing (CONVENTIONS.md "Runs"): a disk that fills up during a
// run, a read-only results directory, and SIGKILL at 20 seeded points of a run. After each fault:
// nothing corrupt under a final name, earlier results byte-identical, run.json truthful, and
// `run_experiment --check` names the runs that died. Mounts (tmpfs, read-only) need root; without
// it those cases fall back (chmod) or skip with a visible message.
#include <boost/test/unit_test.hpp>

#include "core/rng.hpp"
#include "core/sha256.hpp"
#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <thread>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

const std::string kSmall = " --quiet --set sweep.pairs=20000 --set sweep.dims=2,16,128,768 --set report.plots=false";

std::string rv_command(const std::string& results, const std::string& extra = "") {
  return fmt::format("{} {} --results '{}'{}{}", bin("run_experiment"), source("configs/random_variance.ini"), results,
                     kSmall, extra);
}

// A tmpfs mounted at `dir` for the scope (root only); `ok` is false when mounting is not possible.
struct Tmpfs {
  std::string dir;
  bool ok = false;
  Tmpfs(std::string d, const std::string& size) : dir(std::move(d)) {
    fs::create_directories(dir);
    ok = ::geteuid() == 0 && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  bool remount_read_only() const {
    return ::mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }
  ~Tmpfs() {
    if (ok) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

// path (relative to root) → sha256 of every regular file and the target of every symlink.
std::map<std::string, std::string> tree_hashes(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = e.path().lexically_relative(root).string();  // fs::relative would resolve `latest`
    if (e.is_symlink())
      out[rel] = "-> " + fs::read_symlink(e.path()).string();
    else if (e.is_regular_file())
      out[rel] = sha256_file(e.path().string());
  }
  return out;
}

std::vector<fs::path> run_dirs(const fs::path& results, const std::string& experiment) {
  std::vector<fs::path> out;
  const fs::path base = results / experiment;
  if (!fs::exists(base)) return out;
  for (const auto& e : fs::directory_iterator(base))  // `.staging-*`: a run killed before it started
    if (e.is_directory() && !e.is_symlink() && !e.path().filename().string().starts_with(".")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The invariants every run directory keeps whatever happened to its process. Returns the status.
std::string check_run_dir(const fs::path& run) {
  const fs::path json = run / "run.json";
  BOOST_REQUIRE_MESSAGE(fs::exists(json), run << ": no run.json (it is written before anything else)");
  nlohmann::json j;
  BOOST_REQUIRE_NO_THROW(j = nlohmann::json::parse(read_file(json.string())));  // written atomically
  const std::string status = j.value("status", "?");
  BOOST_TEST((status == "RUNNING" || status == "COMPLETED" || status == "FAILED" || status == "INTERRUPTED"), status);
  if (fs::exists(run / "results.h5")) {
    // A final name only ever holds a complete file.
    BOOST_CHECK_NO_THROW({
      io::H5ResultReader r((run / "results.h5").string());
      BOOST_TEST(!r.attr_string("/meta", "config_text").empty());
    });
  }
  if (fs::exists(run / "report.md")) {
    const std::string md = read_file((run / "report.md").string());
    BOOST_TEST(md.find("## Provenance") != std::string::npos, run);
    BOOST_TEST(md.substr(md.find_last_not_of(" \n") - 9, 10) == "</details>", run << " report.md is cut short");
  }
  if (status == "COMPLETED") {
    BOOST_TEST(fs::exists(run / "results.h5"), run);
    BOOST_TEST(fs::exists(run / "report.md"), run);
  }
  return status;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(disk_full_while_writing) {
  TempDir dir;
  Tmpfs disk(dir.file("disk"), "8m");
  BOOST_TEST_REQUIRE(disk.ok, "disk_full_while_writing mounts a small tmpfs: run the suite as root (CI does)");
  const std::string results = disk.dir + "/results";
  const auto first = run_command(rv_command(results), dir);
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const auto before = tree_hashes(results);

  // Fill the disk up to a few pages: run.json fits, results.h5 does not.
  struct statvfs sv {};
  BOOST_REQUIRE(::statvfs(disk.dir.c_str(), &sv) == 0);
  const std::uint64_t free_bytes = std::uint64_t(sv.f_bavail) * sv.f_frsize;
  const std::uint64_t keep = 12 * 1024;
  BOOST_REQUIRE(free_bytes > keep);
  write_file(disk.dir + "/filler", std::string(free_bytes - keep, 'x'));

  const auto r = run_command(rv_command(results), dir);
  BOOST_TEST((r.exit_code == 74 || r.exit_code == 73), "exit " << r.exit_code << ": " << r.err);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
  BOOST_TEST(r.err.starts_with("error: "), r.err);
  BOOST_TEST_MESSAGE("disk full: exit " << r.exit_code << ", " << r.err.substr(0, r.err.size() - 1));

  // The earlier run is untouched (and `latest` still points at it); the failed run left no
  // results under a final name and no temporary files.
  auto after = tree_hashes(results);
  for (const auto& [rel, hash] : before) {
    BOOST_TEST(after.count(rel) == 1u, rel);
    if (after.count(rel)) BOOST_TEST(after[rel] == hash, rel << " changed");
  }
  const auto runs = run_dirs(results, "random_variance");
  BOOST_REQUIRE(runs.size() == 2u);
  for (const auto& run : runs) {
    const std::string status = check_run_dir(run);
    if (before.count((run / "run.json").lexically_relative(results).string())) continue;
    BOOST_TEST(!fs::exists(run / "results.h5"));
    for (const auto& e : fs::directory_iterator(run))
      BOOST_TEST(e.path().filename().string().find(".tmp") == std::string::npos, e.path());
    BOOST_TEST(status == "FAILED", "the failed run's run.json says " << status);
  }
  fs::remove(disk.dir + "/filler");
}

BOOST_AUTO_TEST_CASE(read_only_results_directory) {
  TempDir dir;
  Tmpfs disk(dir.file("ro"), "8m");
  const std::string results = (disk.ok ? disk.dir : dir.file("ro")) + "/results";
  const auto first = run_command(rv_command(results), dir);
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const auto before = tree_hashes(results);
  if (disk.ok) {
    BOOST_REQUIRE(disk.remount_read_only());
  } else if (::geteuid() != 0) {
    fs::permissions(results, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
    fs::permissions(fs::path(results) / "random_variance",
                    fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
  } else {
    BOOST_FAIL("read_only_results_directory: root could not mount a tmpfs, and root ignores chmod");
  }
  const auto r = run_command(rv_command(results), dir);
  BOOST_TEST(r.exit_code == 73, "exit " << r.exit_code << ": " << r.err);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
  BOOST_TEST(r.err.find(results) != std::string::npos, r.err);
  BOOST_TEST(tree_hashes(results) == before);
  if (!disk.ok) fs::permissions(fs::path(results) / "random_variance", fs::perms::owner_write, fs::perm_options::add);
}

BOOST_AUTO_TEST_CASE(sigkill_at_seeded_points) {
  TempDir dir;
  const std::string results = dir.file("results");
  // A completed run whose files must survive everything below byte for byte; its duration sets
  // the span of the kill points.
  const auto t0 = std::chrono::steady_clock::now();
  const auto first = run_command(rv_command(results), dir);
  const double span = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const auto before = tree_hashes(results);

  Rng rng(kSeed);
  int killed = 0, finished = 0;
  for (int k = 0; k < 20; ++k) {
    // Delays spread over the whole run: k/20 of it plus a seeded jitter of one slot.
    const double delay = span * (double(k) + rng.uniform()) / 20.0 * 1.1;
    const std::string cmd = "exec " + rv_command(results) + " 2>/dev/null";
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
      ++killed;
    else
      ++finished;
  }
  BOOST_TEST_MESSAGE("SIGKILL: run took " << span << " s; " << killed << " killed, " << finished << " finished first");
  BOOST_TEST(killed > 0);

  // Earlier results are byte-identical; every run directory keeps the invariants.
  auto after = tree_hashes(results);
  for (const auto& [rel, hash] : before)
    if (rel != "random_variance/latest")
      BOOST_TEST(after[rel] == hash, rel << " changed: " << hash << " -> " << after[rel]);
  int running = 0, completed = 0;
  for (const auto& run : run_dirs(results, "random_variance")) {
    const std::string status = check_run_dir(run);
    running += status == "RUNNING";
    completed += status == "COMPLETED";
    BOOST_TEST((status == "RUNNING" || status == "COMPLETED"), run << ": " << status << " after SIGKILL");
  }
  BOOST_TEST(completed >= 1 + finished);
  // `latest` points at a completed run.
  const fs::path latest = fs::path(results) / "random_variance" / "latest";
  BOOST_REQUIRE(fs::is_symlink(latest));
  BOOST_TEST(check_run_dir(fs::canonical(latest)) == "COMPLETED");

  // --check names every run that died and verifies every completed results.h5.
  const auto check = run_command(fmt::format("{} --check '{}'", bin("run_experiment"), results), dir);
  std::size_t died = 0, ok = 0;
  for (std::size_t at = 0; (at = check.out.find("DIED (stale RUNNING", at)) != std::string::npos; ++at) ++died;
  for (std::size_t at = 0; (at = check.out.find("COMPLETED, results.h5 ok", at)) != std::string::npos; ++at) ++ok;
  std::size_t staging = 0, abandoned = 0;
  for (const auto& e : fs::directory_iterator(fs::path(results) / "random_variance"))
    staging += e.path().filename().string().starts_with(".staging-");
  for (std::size_t at = 0; (at = check.out.find("ABANDONED", at)) != std::string::npos; ++at) ++abandoned;
  BOOST_TEST(died == std::size_t(running), check.out);
  BOOST_TEST(ok == std::size_t(completed), check.out);
  BOOST_TEST(abandoned == staging, check.out);
  BOOST_TEST(check.exit_code == (running > 0 || staging > 0 ? 65 : 0), check.out);
}

BOOST_AUTO_TEST_CASE(check_flags_a_corrupt_completed_result) {
  TempDir dir;
  const std::string results = dir.file("results");
  const auto first = run_command(rv_command(results), dir);
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const auto runs = run_dirs(results, "random_variance");
  BOOST_REQUIRE(runs.size() == 1u);
  auto ok = run_command(fmt::format("{} --check '{}'", bin("run_experiment"), results), dir);
  BOOST_TEST(ok.exit_code == 0, ok.out);
  // Damage the file behind the runner's back (a bad disk, a careless copy): --check must say so.
  const std::string h5 = (runs[0] / "results.h5").string();
  const std::string bytes = read_file(h5);
  write_file(h5, bytes.substr(0, bytes.size() / 3));
  const auto bad = run_command(fmt::format("{} --check '{}'", bin("run_experiment"), results), dir);
  BOOST_TEST(bad.exit_code == 65, bad.out);
  BOOST_TEST(bad.out.find("COMPLETED but results.h5 is bad") != std::string::npos, bad.out);
}

BOOST_AUTO_TEST_SUITE_END()
