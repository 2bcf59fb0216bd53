#pragma once
// Checked size arithmetic: every size computed from a length field in a file goes through here.
#include "core/error.hpp"

#include <cstdint>
#include <string>

namespace embedlab {

// a * b, or a data error naming `file` and `where` on overflow.
inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& file, const std::string& where) {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) data_error(file, where, fmt::format("size overflows ({} x {})", a, b));
  return r;
}

inline std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& file, const std::string& where) {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) data_error(file, where, fmt::format("size overflows ({} + {})", a, b));
  return r;
}

}  // namespace embedlab
