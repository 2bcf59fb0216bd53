#pragma once
// Where a result came from: versions, build, host, time, inputs (CONVENTIONS.md "Results and provenance").
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace embedlab {

struct InputFile {
  std::string path;
  std::string format;  // "safetensors", "npy", ...
  std::string dtype;   // dtype on disk
  std::vector<std::uint64_t> shape;
  std::string sha256;          // of the bytes actually read
  bool sha256_cached = false;  // the digest came from the opt-in hash cache (core/hash_cache.hpp)
};

struct LibraryVersions {
  std::string embedlab, armadillo, openblas, hdf5, boost, fmt;
};

// Versions of embedlab and of the libraries linked in.
LibraryVersions library_versions();
std::string hdf5_version();

std::string git_commit();       // baked at configure time
bool git_dirty();               // asks git at run time (false when unknown)
std::string compiler_string();  // e.g. "GCC 12.2.0"
std::string compiler_flags();   // build type + flags
std::string host_cpu();         // /proc/cpuinfo model name
std::string hostname_string();
std::string utc_now_iso8601();  // 2026-11-26T18:00:00Z
std::string source_dir();       // the source tree embedlab was built from

}  // namespace embedlab
