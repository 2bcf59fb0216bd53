#pragma once
// SHA-256 through OpenSSL's libcrypto (streaming, so readers hash exactly the bytes they read).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace embedlab {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex();  // finalises; lowercase hex digest

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view bytes);
// Hash of a whole file (throws Error(no_input) when unreadable).
std::string sha256_file(const std::string& path);

}  // namespace embedlab
