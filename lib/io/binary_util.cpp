#include "io/binary_util.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace embedlab::io {

BinaryFile::BinaryFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(Exit::no_input, path, "", fmt::format("cannot open for reading ({})", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fail(Exit::no_input, path, "", "not a regular file");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

BinaryFile::~BinaryFile() {
  if (fd_ >= 0) ::close(fd_);
}

void BinaryFile::read_at(std::uint64_t offset, void* dst, std::uint64_t n, const std::string& where) const {
  auto* out = static_cast<unsigned char*>(dst);
  while (n > 0) {
    // pread moves at most ~2 GiB at once on Linux; loop until done.
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, 1u << 30));
    const ssize_t got = ::pread(fd_, out, chunk, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(Exit::no_input, path_, where, fmt::format("read error at byte {} ({})", offset, std::strerror(errno)));
    }
    if (got == 0) data_error(path_, where, fmt::format("file ends at byte {} (truncated?)", offset));
    out += got;
    offset += static_cast<std::uint64_t>(got);
    n -= static_cast<std::uint64_t>(got);
  }
}

std::string BinaryFile::read_string_at(std::uint64_t offset, std::uint64_t n, const std::string& where) const {
  std::string s(static_cast<std::size_t>(n), '\0');
  read_at(offset, s.data(), n, where);
  return s;
}

std::size_t float_kind_size(FloatKind kind) {
  switch (kind) {
    case FloatKind::f16:
    case FloatKind::bf16:
      return 2;
    case FloatKind::f32:
      return 4;
    case FloatKind::f64:
      return 8;
  }
  return 0;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits = 0;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / nan (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalise; every one is a normal float32.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits = sign | (std::uint32_t(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(std::uint16_t b) {
  const std::uint32_t bits = std::uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void decode_floats(const unsigned char* src, std::uint64_t n, FloatKind kind, bool big_endian, float* dst) {
  const std::size_t w = float_kind_size(kind);
  unsigned char e[8];
  for (std::uint64_t i = 0; i < n; ++i) {
    const unsigned char* p = src + i * w;
    if (big_endian) {
      for (std::size_t k = 0; k < w; ++k) e[k] = p[w - 1 - k];
    } else {
      std::memcpy(e, p, w);
    }
    switch (kind) {
      case FloatKind::f16:
        dst[i] = half_to_float(load_le16(e));
        break;
      case FloatKind::bf16:
        dst[i] = bf16_to_float(load_le16(e));
        break;
      case FloatKind::f32: {
        const std::uint32_t bits = load_le32(e);
        std::memcpy(&dst[i], &bits, 4);
        break;
      }
      case FloatKind::f64: {
        const std::uint64_t bits = load_le64(e);
        double d;
        std::memcpy(&d, &bits, 8);
        dst[i] = static_cast<float>(d);
        break;
      }
    }
  }
}

void read_floats(const BinaryFile& f, std::uint64_t offset, std::uint64_t n, FloatKind kind, bool big_endian,
                 float* dst, Sha256& hash, Sha256* hash2, const std::string& where) {
  constexpr std::uint64_t kChunk = 4u << 20;         // bytes per read: a multiple of every element size
  constexpr std::uint64_t kPipelineMin = 32u << 20;  // below this a second thread is not worth starting
  const std::uint64_t width = float_kind_size(kind);
  const std::uint64_t total = n * width;  // callers bound n by the file size first
  const bool native = std::endian::native == (big_endian ? std::endian::big : std::endian::little);
  if (kind == FloatKind::f32 && native) {
    // Straight into the destination. Large tensors are hashed on a second thread that follows the
    // reads chunk by chunk (the bytes are hashed in order, from the same memory, while still in
    // cache), so loading costs about one read of the file instead of a read plus a hash.
    auto* bytes = reinterpret_cast<unsigned char*>(dst);
    if (total < kPipelineMin) {
      for (std::uint64_t off = 0; off < total; off += kChunk) {
        const std::uint64_t len = std::min(kChunk, total - off);
        f.read_at(offset + off, bytes + off, len, where);
        hash.update(bytes + off, len);
        if (hash2) hash2->update(bytes + off, len);
      }
      return;
    }
    // The destination is fresh memory: ask for huge pages so that the kernel's copy faults in 2 MiB
    // pages rather than 4 KiB ones (a hint; ignored where transparent huge pages are off).
    {
      constexpr std::uintptr_t kHuge = 2u << 20;
      const auto lo = (reinterpret_cast<std::uintptr_t>(bytes) + kHuge - 1) & ~(kHuge - 1);
      const auto hi = (reinterpret_cast<std::uintptr_t>(bytes) + total) & ~(kHuge - 1);
      if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
    }
    std::mutex mu;
    std::condition_variable cv;
    std::uint64_t ready = 0;  // bytes [0, ready) are in dst
    bool abort = false;
    std::thread hasher([&] {
      std::uint64_t done = 0;
      while (done < total) {
        std::uint64_t upto = 0;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return abort || ready > done; });
          if (abort) return;
          upto = ready;
        }
        hash.update(bytes + done, upto - done);
        if (hash2) hash2->update(bytes + done, upto - done);
        done = upto;
      }
    });
    try {
      for (std::uint64_t off = 0; off < total; off += kChunk) {
        const std::uint64_t len = std::min(kChunk, total - off);
        f.read_at(offset + off, bytes + off, len, where);
        {
          const std::lock_guard lock(mu);
          ready = off + len;
        }
        cv.notify_one();
      }
    } catch (...) {
      {
        const std::lock_guard lock(mu);
        abort = true;
      }
      cv.notify_one();
      hasher.join();
      throw;
    }
    hasher.join();
    return;
  }
  std::vector<unsigned char> buf(static_cast<std::size_t>(std::min(kChunk, total)));
  for (std::uint64_t off = 0; off < total; off += kChunk) {
    const std::uint64_t len = std::min(kChunk, total - off);
    f.read_at(offset + off, buf.data(), len, where);
    hash.update(buf.data(), len);
    if (hash2) hash2->update(buf.data(), len);
    decode_floats(buf.data(), len / width, kind, big_endian, dst + off / width);
  }
}

void read_floats(const BinaryFile& f, std::uint64_t offset, std::uint64_t n, FloatKind kind, bool big_endian,
                 float* dst, Sha256Background* hash, const std::string& where) {
  constexpr std::uint64_t kChunk = 4u << 20;  // bytes per read: a multiple of every element size
  const std::uint64_t width = float_kind_size(kind);
  const std::uint64_t total = n * width;  // callers bound n by the file size first
  const bool native = std::endian::native == (big_endian ? std::endian::big : std::endian::little);
  if (kind == FloatKind::f32 && native) {
    auto* bytes = reinterpret_cast<unsigned char*>(dst);
    for (std::uint64_t off = 0; off < total; off += kChunk) {
      const std::uint64_t len = std::min(kChunk, total - off);
      f.read_at(offset + off, bytes + off, len, where);
      if (hash) hash->update_borrowed(bytes + off, static_cast<std::size_t>(len));
    }
  } else {
    for (std::uint64_t off = 0; off < total; off += kChunk) {
      const std::uint64_t len = std::min(kChunk, total - off);
      std::vector<unsigned char> buf(static_cast<std::size_t>(len));
      f.read_at(offset + off, buf.data(), len, where);
      decode_floats(buf.data(), len / width, kind, big_endian, dst + off / width);
      if (hash) hash->update_owned(std::move(buf));
    }
  }
  // Huge pages are asked for after the memory is filled, not before: faulting fresh memory in as
  // 2 MiB pages cost 0.6-0.9 s of CPU for GPT-2 small's 498 MB in a new process here (4 KiB pages:
  // 0.3 s), more than the whole hash. Advised now, khugepaged may still merge the pages later (a hint;
  // ignored where transparent huge pages are off).
  constexpr std::uintptr_t kHuge = 2u << 20;
  const auto lo = (reinterpret_cast<std::uintptr_t>(dst) + kHuge - 1) & ~(kHuge - 1);
  const auto hi = (reinterpret_cast<std::uintptr_t>(dst) + 4 * n) & ~(kHuge - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
}

std::string format_shape(const std::vector<std::uint64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::string list_names(const std::vector<std::string>& names, std::size_t max) {
  if (names.empty()) return "(none)";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += fmt::format(", ... ({} more)", names.size() - max);
  return out;
}

}  // namespace embedlab::io
