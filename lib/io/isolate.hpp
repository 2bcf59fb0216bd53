#pragma once
// Runs code that may crash (a third-party parser on an untrusted file: libhdf5 is not hardened
// against crafted files) in a forked child under resource limits, so a crash becomes a one-line
// embedlab::Error instead of taking the tool down.
#include <cstdint>
#include <functional>
#include <string>

namespace embedlab::io {

struct IsolationLimits {
  // Soft RLIMIT_AS for the child: this many bytes above the address space it inherits (0: none).
  // Not applied under AddressSanitizer, whose shadow memory reserves terabytes of address space.
  std::uint64_t extra_address_space = 0;
  std::uint64_t cpu_seconds = 0;  // soft RLIMIT_CPU (SIGXCPU when exceeded); 0: none
};

// Forks; the child sets the limits, runs `work` and sends back the string it returns (or the
// embedlab::Error it throws), then _exits without running atexit handlers or flushing the parent's
// streams and HDF5 files. In the parent, the child's Error is rethrown with its code and message;
// a child killed by a signal becomes Error(Exit::data, "<file>: <library> crashed while reading
// (signal N, name)"); a child that exits without an answer becomes Error(Exit::software, ...).
// Memory the child fills for the parent must be shared (e.g. a memfd created before the call).
std::string run_isolated(const std::string& file, const std::string& library, const IsolationLimits& limits,
                         const std::function<std::string()>& work);

// In the child: tighten the soft address-space limit to `extra` bytes above the current size
// (used once a validated header says how much the real work needs). No-op under ASan or when 0.
void limit_address_space(std::uint64_t extra);

}  // namespace embedlab::io
