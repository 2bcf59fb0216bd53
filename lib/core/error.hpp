#pragma once
// The error contract (../shared/CONVENTIONS.md): every user or data error becomes one
// `embedlab::Error` carrying a sysexits code and a one-line message
// `<file>: <where>: <what>`; main() prints `error: <message>` and exits with the code.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace embedlab {

enum class Exit : int {
  ok = 0,
  usage = 64,        // bad command line
  data = 65,         // bad input data
  no_input = 66,     // input missing or unreadable
  software = 70,     // internal error
  cant_create = 73,  // cannot create output
  io = 74,           // I/O error while writing
  config = 78,       // bad config
};

class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Exit code() const noexcept { return code_; }
  int exit_code() const noexcept { return static_cast<int>(code_); }

 private:
  Exit code_;
};

// `file: where: what` (where may be empty).
inline std::string located(const std::string& file, const std::string& where, const std::string& what) {
  if (where.empty()) return fmt::format("{}: {}", file, what);
  return fmt::format("{}: {}: {}", file, where, what);
}

[[noreturn]] inline void fail(Exit code, const std::string& file, const std::string& where, const std::string& what) {
  throw Error(code, located(file, where, what));
}

// Bad input data (exit 65).
[[noreturn]] inline void data_error(const std::string& file, const std::string& where, const std::string& what) {
  fail(Exit::data, file, where, what);
}

}  // namespace embedlab
