#include "core/sha256.hpp"

#include "core/error.hpp"
#include "core/hash_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace embedlab {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1)
    throw Error(Exit::software, "sha256: cannot initialise OpenSSL digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::update(const void* data, std::size_t size) {
  if (size > 0) EVP_DigestUpdate(impl_->ctx, data, size);
}

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

Sha256Background::Sha256Background() : worker_([this] { run(); }) {}

Sha256Background::~Sha256Background() {
  if (!worker_.joinable()) return;
  {
    const std::lock_guard lock(mu_);
    abort_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void Sha256Background::push(Piece p) {
  if (p.size == 0) return;
  {
    std::unique_lock lock(mu_);
    if (!p.owned.empty()) {
      // Wait while the hasher is behind by more than the cap (one piece is always let in).
      cv_.wait(lock, [&] { return owned_bytes_ == 0 || owned_bytes_ + p.size <= kMaxOwned; });
      owned_bytes_ += p.size;
    }
    queue_.push_back(std::move(p));
  }
  cv_.notify_all();
}

void Sha256Background::update_borrowed(const void* data, std::size_t size) {
  push(Piece{static_cast<const unsigned char*>(data), size, {}});
}

void Sha256Background::update_owned(std::vector<unsigned char> bytes) {
  const auto* p = bytes.data();
  const std::size_t n = bytes.size();
  push(Piece{p, n, std::move(bytes)});  // moving a vector keeps its buffer
}

void Sha256Background::update_copy(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  update_owned(std::vector<unsigned char>(p, p + size));
}

void Sha256Background::run() {
  for (;;) {
    Piece p{nullptr, 0, {}};
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return abort_ || closing_ || !queue_.empty(); });
      if (abort_) return;
      if (queue_.empty()) return;  // closing and drained
      p = std::move(queue_.front());
      queue_.pop_front();
    }
    hash_.update(p.data, p.size);
    if (!p.owned.empty()) {
      {
        const std::lock_guard lock(mu_);
        owned_bytes_ -= p.size;
      }
      cv_.notify_all();
    }
  }
}

std::string Sha256Background::hex() {
  {
    const std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  return hash_.hex();
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

std::string sha256_file(const std::string& path, bool* cached) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(Exit::no_input, path, "", fmt::format("cannot open for reading ({})", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const auto cache = HashCache::from_env();
  const FileStamp stamp = file_stamp(fd, path);
  if (cached) *cached = false;
  if (cache) {
    if (auto hit = cache->find(stamp)) {
      if (cached) *cached = true;
      return *hit;
    }
  }
  Sha256 h;
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(Exit::no_input, path, "", fmt::format("read failed ({})", std::strerror(errno)));
    if (got == 0) break;
    h.update(buf.data(), static_cast<std::size_t>(got));
  }
  std::string digest = h.hex();
  if (cache && file_stamp(fd, path) == stamp) cache->store(stamp, path, digest);
  return digest;
}

}  // namespace embedlab
