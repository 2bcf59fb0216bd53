#include "core/provenance.hpp"

#include "core/process.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <hdf5.h>
#include <unistd.h>
#include <armadillo>
#include <boost/version.hpp>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>

extern "C" char* openblas_get_config(void);

namespace embedlab {

LibraryVersions library_versions() {
  LibraryVersions v;
  v.embedlab = EMBEDLAB_VERSION;
  v.armadillo = arma::arma_version::as_string();
  v.openblas = openblas_get_config();
  v.hdf5 = hdf5_version();
  v.boost = fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
  v.fmt = fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  return v;
}

// The HDF5 library actually linked (not the headers' version).
std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return fmt::format("{}.{}.{}", major, minor, release);
}

std::string git_commit() { return EMBEDLAB_GIT_SHA; }
std::string source_dir() { return EMBEDLAB_SOURCE_DIR; }

bool git_dirty() {
  // argv, no shell: the source path is passed as one argument whatever it contains.
  const auto r = run_capture({"git", "-C", source_dir(), "status", "--porcelain", "--untracked-files=no"});
  return r.exit_status == 0 && !r.out.empty();
}

std::string compiler_string() {
#if defined(__clang__)
  return fmt::format("Clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("GCC {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

std::string compiler_flags() { return fmt::format("{} [{}]", EMBEDLAB_BUILD_TYPE, EMBEDLAB_CXX_FLAGS); }

std::string host_cpu() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string hostname_string() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0) return "unknown";
  return buf.data();
}

std::string utc_now_iso8601() {
  const std::time_t t = std::time(nullptr);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(t));
}

}  // namespace embedlab
