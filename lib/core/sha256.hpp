#pragma once
// SHA-256 through OpenSSL's libcrypto (streaming, so readers hash exactly the bytes they read).
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

// SHA-256 of a byte stream computed on a second thread while the caller goes on reading: the caller
// hands over the stream's pieces in order, either borrowed (memory that stays alive and unchanged
// until hex() returns, e.g. the destination tensor a read just filled) or owned (a buffer moved in).
// Owned bytes waiting to be hashed are capped (kMaxOwned); update_owned blocks beyond that. hex()
// waits for the thread and returns the digest of exactly the bytes handed over, in order. Destroying
// the object without hex() (an exception while reading) stops the thread without finishing.
class Sha256Background {
 public:
  static constexpr std::size_t kMaxOwned = std::size_t{64} << 20;
  Sha256Background();
  ~Sha256Background();
  Sha256Background(const Sha256Background&) = delete;
  Sha256Background& operator=(const Sha256Background&) = delete;
  void update_borrowed(const void* data, std::size_t size);
  void update_owned(std::vector<unsigned char> bytes);
  void update_copy(const void* data, std::size_t size);  // small pieces: copied, then owned
  std::string hex();                                     // once

 private:
  struct Piece {
    const unsigned char* data;
    std::size_t size;
    std::vector<unsigned char> owned;
  };
  void push(Piece p);
  void run();
  Sha256 hash_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Piece> queue_;
  std::size_t owned_bytes_ = 0;
  bool closing_ = false, abort_ = false;
  std::thread worker_;
};

std::string sha256_hex(std::string_view bytes);
// Hash of a whole file (throws Error(no_input) when unreadable). With the opt-in hash cache
// (core/hash_cache.hpp) an unchanged file's digest comes from the cache; *cached says so.
std::string sha256_file(const std::string& path, bool* cached = nullptr);

}  // namespace embedlab
