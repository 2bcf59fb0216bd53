#pragma once
// Helpers shared by the binary readers (safetensors, npy, GPT-2 checkpoints): positioned reads that
// never return short, float16/bfloat16 decoding, byte swaps, shape formatting, UTF-8 checks and a
// JSON parse that refuses duplicate keys.
#include "core/hash_cache.hpp"
#include "core/json.hpp"
#include "core/sha256.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::io {

// A read-only file descriptor. Opening a missing/unreadable file throws Error(no_input).
class BinaryFile {
 public:
  explicit BinaryFile(const std::string& path);
  ~BinaryFile();
  BinaryFile(const BinaryFile&) = delete;
  BinaryFile& operator=(const BinaryFile&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  FileStamp stamp() const { return file_stamp(fd_, path_); }  // the open file's identity now
  // Reads exactly n bytes at offset or throws a data error naming `where` (a truncated file).
  void read_at(std::uint64_t offset, void* dst, std::uint64_t n, const std::string& where) const;
  std::string read_string_at(std::uint64_t offset, std::uint64_t n, const std::string& where) const;

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// Element types the readers convert to float32.
enum class FloatKind { f16, bf16, f32, f64 };
std::size_t float_kind_size(FloatKind kind);

// Converts n elements stored little- or big-endian at `src` (any alignment) into dst.
void decode_floats(const unsigned char* src, std::uint64_t n, FloatKind kind, bool big_endian, float* dst);
float half_to_float(std::uint16_t h);
// Reads n elements at `offset` into dst as float32, in chunks, hashing the raw bytes into `hash` (and
// `hash2` when given) in the same pass. Native-order float32 goes straight into dst, no copy.
void read_floats(const BinaryFile& f, std::uint64_t offset, std::uint64_t n, FloatKind kind, bool big_endian,
                 float* dst, Sha256& hash, Sha256* hash2, const std::string& where);
// The same, with the bytes hashed on `hash`'s thread beside the reads: native-order float32 is
// handed over borrowed from dst (dst must stay alive and unchanged until hash->hex()), converted
// kinds hand over their read buffers; no hashing when hash is null. Large destinations are advised
// into huge pages once filled.
void read_floats(const BinaryFile& f, std::uint64_t offset, std::uint64_t n, FloatKind kind, bool big_endian,
                 float* dst, Sha256Background* hash, const std::string& where);
float bf16_to_float(std::uint16_t b);

inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline std::uint32_t load_le32(const unsigned char* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint16_t load_le16(const unsigned char* p) { return std::uint16_t(p[0] | p[1] << 8); }

// "[50257, 768]"
std::string format_shape(const std::vector<std::uint64_t>& shape);
// "a, b, c" of at most `max` names, then ", … (N more)".
std::string list_names(const std::vector<std::string>& names, std::size_t max = 20);

}  // namespace embedlab::io
