#pragma once
// Tiny writers for test fixtures: safetensors and .npy bytes built by hand, so every reader test
// controls each byte (alignment, byte order, header text) exactly.
#include "core/error.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace embedlab::test {

// Little-endian (or big-endian) bytes of each value.
template <class T>
std::string bytes_of(const std::vector<T>& values, bool big_endian = false) {
  std::string out;
  for (const T& v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (big_endian)
      for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
    out.append(b, sizeof(T));
  }
  return out;
}

inline std::string le64(std::uint64_t v) { return bytes_of(std::vector<std::uint64_t>{v}); }

// A safetensors file: 8-byte length, header text as given (not re-serialised), data.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// One header entry: "name":{"dtype":...,"shape":[...],"data_offsets":[b,e]}
inline std::string st_entry(const std::string& name, const std::string& dtype, const std::string& shape,
                            std::uint64_t begin, std::uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// A safetensors header object of the given entries, in order: {e1,e2,...}
inline std::string st_header(std::initializer_list<std::string> entries) {
  std::string h = "{";
  for (const auto& e : entries) h += (h.size() > 1 ? "," : "") + e;
  return h + "}";
}

// A .npy file of the given version with `dict` as header text, padded like NumPy (64-byte aligned,
// ending in '\n').
inline std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + char(major) + char(0);
  if (major == 1) {
    out += bytes_of(std::vector<std::uint16_t>{static_cast<std::uint16_t>(header.size())});
  } else {
    out += bytes_of(std::vector<std::uint32_t>{static_cast<std::uint32_t>(header.size())});
  }
  return out + header + data;
}

// f() must throw embedlab::Error with `code` and a one-line message containing every one of `parts`.
template <class F>
void check_error(F&& f, std::initializer_list<std::string> parts, Exit code = Exit::data) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& part : parts)
      BOOST_TEST(msg.find(part) != std::string::npos, "message '" << msg << "' lacks '" << part << "'");
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code), "exit code for '" << msg << "'");
    BOOST_TEST(msg.find('\n') == std::string::npos, "one line: '" << msg << "'");
    return;
  }
  BOOST_ERROR("expected an error containing '" << *parts.begin() << "'");
}

// The same with one part.
template <class F>
void check_error(F&& f, const std::string& part, Exit code = Exit::data) {
  check_error(std::forward<F>(f), {part}, code);
}

}  // namespace embedlab::test
