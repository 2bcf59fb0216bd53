#pragma once
// Test-side writers of safetensors files and GPT-2 checkpoint directories, independent of lib/io:
// tensors are given in Hugging Face's row-major layout, F16 values are rounded by the compiler's
// _Float16 (round to nearest even), the header is serialised by nlohmann-json.
#include <nlohmann/json.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace embedlab::test {

// One tensor as a writer sees it: name, row-major shape, float32 values, dtype on disk.
struct StTensor {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::vector<float> values;
  std::string dtype = "F32";  // F32 or F16
};

inline std::uint16_t half_bits(float f) {
  const _Float16 h = static_cast<_Float16>(f);
  std::uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
// f rounded to float16 and back: what an F16 file of f holds.
inline float round_to_half(float f) { return static_cast<float>(static_cast<_Float16>(f)); }

// Writes the tensors in the given order (data_offsets follow it) with an optional __metadata__.
inline void write_safetensors(const std::string& path, const std::vector<StTensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {{"format", "pt"}}) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    std::uint64_t n = 1;
    for (auto d : t.shape) n *= d;
    BOOST_REQUIRE_MESSAGE(n == t.values.size(), t.name << ": " << t.values.size() << " values for " << n);
    BOOST_REQUIRE(t.dtype == "F32" || t.dtype == "F16");
    const std::uint64_t bytes = n * (t.dtype == "F32" ? 4 : 2);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';  // as the reference writer pads
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  BOOST_REQUIRE_MESSAGE(out, "cannot write " << path);
  const std::uint64_t len = text.size();
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
  out.write(reinterpret_cast<const char*>(le), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::vector<std::uint16_t> half;
  for (const auto& t : tensors) {
    if (t.dtype == "F32") {
      out.write(reinterpret_cast<const char*>(t.values.data()), static_cast<std::streamsize>(4 * t.values.size()));
    } else {
      half.resize(t.values.size());
      for (std::size_t i = 0; i < half.size(); ++i) half[i] = half_bits(t.values[i]);
      out.write(reinterpret_cast<const char*>(half.data()), static_cast<std::streamsize>(2 * half.size()));
    }
  }
  out.close();
  BOOST_REQUIRE_MESSAGE(out, "cannot write " << path);
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  BOOST_REQUIRE_MESSAGE(out, "cannot write " << path);
}

// A small deterministic generator (splitmix64) of uniform values in [-a, a): fast enough for tens of
// millions of weights.
class Uniform {
 public:
  explicit Uniform(std::uint64_t seed) : s_(seed) {}
  float operator()(float a) {
    s_ += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = s_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return a * (static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }

 private:
  std::uint64_t s_;
};

}  // namespace embedlab::test
