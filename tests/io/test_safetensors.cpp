#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "core/sha256.hpp"
#include "io/binary_util.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

using namespace embedlab;
using namespace embedlab::test;

namespace {

// Writes `bytes` to a file in `dir` and returns its path.
std::string put(const TempDir& dir, const std::string& bytes, const std::string& name = "t.safetensors") {
  const std::string p = dir.file(name);
  write_file(p, bytes);
  return p;
}

// A valid 2×3 F32 file: tensor "emb" plus a rank-1 "bias" [3].
std::string two_tensor_file() {
  const std::vector<float> emb = {1, 2, 3, 4, 5, 6}, bias = {7, 8, 9};
  const std::string h = st_header({st_entry("emb", "F32", "[2,3]", 0, 24), st_entry("bias", "F32", "[3]", 24, 36)});
  return safetensors_bytes(h, bytes_of(emb) + bytes_of(bias));
}

void index_fails(const std::string& bytes, const std::string& part) {
  TempDir dir;
  const std::string p = put(dir, bytes);
  check_error([&] { io::read_safetensors_index(p); }, part);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(f32_round_trip_is_exact) {
  TempDir dir;
  const std::vector<float> v = {1.5f, -0.0f, std::numeric_limits<float>::denorm_min(), 3.4e38f, -7.25f, 1e-20f};
  const std::string data = bytes_of(v);
  const std::string p = put(dir, safetensors_bytes(st_header({st_entry("w", "F32", "[2,3]", 0, 24)}), data));
  const io::Embeddings e = io::read_safetensors(p, "");
  BOOST_TEST(e.rows() == 2u);
  BOOST_TEST(e.dim() == 3u);
  // Row i of the file is column i of the matrix.
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) BOOST_TEST(std::memcmp(&e.vectors(j, i), &v[i * 3 + j], 4) == 0);
  BOOST_TEST(e.source.format == "safetensors");
  BOOST_TEST(e.source.dtype == "F32");
  BOOST_TEST((e.source.shape == std::vector<std::uint64_t>{2, 3}));
  BOOST_TEST(e.source.sha256 == sha256_hex(data));  // hash of the tensor bytes read
  BOOST_TEST(e.token_name(1) == "#1");
}

BOOST_AUTO_TEST_CASE(f64_f16_bf16_convert_exactly) {
  TempDir dir;
  const std::vector<double> d = {0.1, -2.5, 1e300, 3.0};
  // F16 bit patterns: 1, -2, smallest subnormal 2^-24, max 65504, +inf, 0x3555.
  const std::vector<std::uint16_t> h = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00, 0x3555};
  const std::vector<float> h_expect = {
      1.0f, -2.0f, std::ldexp(1.0f, -24), 65504.0f, std::numeric_limits<float>::infinity(), 0.333251953125f};
  const std::vector<float> b_src = {1.0f, -3.5f, 0.15625f, 1024.0f};  // low 16 bits zero: exact in bf16
  std::vector<std::uint16_t> b;
  for (float f : b_src) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    b.push_back(static_cast<std::uint16_t>(bits >> 16));
  }
  const std::string data = bytes_of(d) + bytes_of(h) + bytes_of(b);
  const std::string header = st_header({st_entry("d", "F64", "[2,2]", 0, 32), st_entry("h", "F16", "[3,2]", 32, 44),
                                        st_entry("b", "BF16", "[4]", 44, 52)});
  const std::string p = put(dir, safetensors_bytes(header, data));
  const auto index = io::read_safetensors_index(p);
  const io::Tensor td = io::read_safetensors_tensor(index, "d");
  for (int i = 0; i < 4; ++i) BOOST_TEST(td.data(i % 2, i / 2) == static_cast<float>(d[i]));
  const io::Tensor th = io::read_safetensors_tensor(index, "h");
  BOOST_TEST(th.data.n_rows == 2u);
  BOOST_TEST(th.data.n_cols == 3u);
  for (int i = 0; i < 6; ++i) BOOST_TEST(th.data(i % 2, i / 2) == h_expect[i]);
  const io::Tensor tb = io::read_safetensors_tensor(index, "b");
  BOOST_TEST(tb.data.n_cols == 1u);
  for (int i = 0; i < 4; ++i) BOOST_TEST(tb.data(i, 0) == b_src[i]);
  BOOST_TEST(tb.sha256 == sha256_hex(bytes_of(b)));
}

BOOST_AUTO_TEST_CASE(half_decoding_covers_every_pattern) {
  // Every finite F16 value is exactly representable in float32: compare with a reference formula.
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const int exp = (bits >> 10) & 0x1f, mant = bits & 0x3ff;
    const float sign = (bits & 0x8000) ? -1.0f : 1.0f;
    const float got = io::half_to_float(static_cast<std::uint16_t>(bits));
    if (exp == 0x1f) {
      BOOST_TEST((mant == 0 ? std::isinf(got) : std::isnan(got)));
      continue;
    }
    const float expect =
        exp == 0 ? sign * std::ldexp(float(mant), -24) : sign * std::ldexp(float(1024 + mant), exp - 25);
    BOOST_TEST(std::memcmp(&got, &expect, 4) == 0, "pattern " << bits);
  }
}

BOOST_AUTO_TEST_CASE(unaligned_data_loads_correctly) {
  TempDir dir;
  // One F16 tensor of one element, then an F32 tensor starting at byte 2 of the data section; the
  // header length (odd) also puts the data section at an odd file offset.
  const std::vector<float> v = {0.5f, -1.25f, 3.0f, 9.5f};
  std::string header = st_header({st_entry("h", "F16", "[1]", 0, 2), st_entry("w", "F32", "[2,2]", 2, 18)});
  if ((8 + header.size()) % 2 == 0) header += ' ';
  const std::string p = put(dir, safetensors_bytes(header, bytes_of(std::vector<std::uint16_t>{0x3C00}) + bytes_of(v)));
  const io::Embeddings e = io::read_safetensors(p, "w");
  for (int i = 0; i < 4; ++i) BOOST_TEST(e.vectors(i % 2, i / 2) == v[i]);
}

BOOST_AUTO_TEST_CASE(metadata_and_padding_are_accepted) {
  TempDir dir;
  const std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," + st_entry("w", "F32", "[1,2]", 0, 8) + "}    ";
  const std::string p = put(dir, safetensors_bytes(header, bytes_of(std::vector<float>{1, 2})));
  const auto index = io::read_safetensors_index(p);
  BOOST_TEST(index.metadata.size() == 1u);
  BOOST_TEST(index.metadata[0].second == "pt");
  BOOST_TEST(index.tensors.size() == 1u);
}

BOOST_AUTO_TEST_CASE(real_gpt2_wpe) {
  EMBEDLAB_FIXTURE(path, "gpt2-wpe/gpt2-wpe-lnf.safetensors");
  const io::Embeddings e = io::read_safetensors(path, "");  // the only rank-2 tensor is wpe.weight
  BOOST_TEST(e.rows() == 1024u);
  BOOST_TEST(e.dim() == 768u);
  const double expect[] = {-0.01882, -0.19742, 0.00403, 0.01135, 0.06382};
  // The reference values are rounded to 5 decimals: compare with an absolute margin.
  for (int j = 0; j < 5; ++j) BOOST_TEST(std::abs(e.vectors(j, 0) - expect[j]) <= Tol<float>::sum);
  const auto index = io::read_safetensors_index(path);
  const io::Tensor lnf = io::read_safetensors_tensor(index, "ln_f.weight");
  BOOST_TEST(lnf.data.n_rows == 768u);
  BOOST_TEST(lnf.data.n_cols == 1u);
  // Hashing the whole file in one pass gives the same digest as hashing the file.
  FileDigest file_sha;
  const auto all = io::read_safetensors_tensors(
      index, [](const auto&) { return true; }, &file_sha);
  BOOST_TEST(all.size() == 3u);
  BOOST_TEST(file_sha.sha256 == sha256_file(path));
  BOOST_TEST(arma::approx_equal(all.at("wpe.weight").data, e.vectors, "absdiff", 0.0f));
}

// The one-pass file hash over every path of the reader: an F16 tensor larger than a read chunk
// (converted, its read buffers handed to the hasher), an F32 one read in place, a tensor not wanted
// (read only to be hashed) and a 1-element one; against the hash of the file's bytes as written.
BOOST_AUTO_TEST_CASE(file_hash_covers_converted_in_place_and_skipped_tensors) {
  const TempDir dir;
  const std::uint64_t n16 = 3u << 20;  // 6 MiB of F16: two read chunks
  std::string half(2 * n16, '\0');
  for (std::uint64_t i = 0; i < n16; ++i) {
    const std::uint16_t b = static_cast<std::uint16_t>(0x3c00u + (i % 977));  // 1.0 + (i mod 977)/1024
    half[2 * i] = static_cast<char>(b & 0xff);
    half[2 * i + 1] = static_cast<char>(b >> 8);
  }
  const std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 4.0f}, skip(5000, 7.0f), one = {9.0f};
  const std::uint64_t a = 2 * n16, b = a + 16, c = b + 4 * skip.size(), d = c + 4;
  const std::string h = st_header(
      {st_entry("big", "F16", fmt::format("[1024,{}]", n16 / 1024), 0, a), st_entry("small", "F32", "[2,2]", a, b),
       st_entry("skip", "F32", fmt::format("[{}]", skip.size()), b, c), st_entry("one", "F32", "[1]", c, d)});
  const std::string bytes = safetensors_bytes(h, half + bytes_of(f32) + bytes_of(skip) + bytes_of(one));
  const std::string path = put(dir, bytes);
  const auto index = io::read_safetensors_index(path);
  FileDigest file_sha;
  const auto got = io::read_safetensors_tensors(
      index, [](const io::SafetensorsEntry& e) { return e.name != "skip"; }, &file_sha);
  BOOST_TEST(file_sha.sha256 == sha256_hex(bytes));
  BOOST_TEST(got.size() == 3u);
  BOOST_TEST(got.count("skip") == 0u);
  const arma::fmat& big = got.at("big").data;
  BOOST_TEST(big.n_elem == n16);
  bool exact = true;
  for (std::uint64_t i = 0; i < n16; i += 4099) exact &= big(i) == 1.0f + static_cast<float>(i % 977) / 1024.0f;
  BOOST_TEST(exact);
  BOOST_TEST(got.at("small").data(1, 0) == -2.0f);  // [2,2] row-major → column 0 = row 0
  BOOST_TEST(got.at("one").data(0) == 9.0f);
}

// ---- bad inputs: one crafted byte string each ----

BOOST_AUTO_TEST_CASE(bad_file_shorter_than_8_bytes) { index_fails(std::string("\x02\0\0", 3), "too short"); }

BOOST_AUTO_TEST_CASE(bad_header_length_larger_than_file) { index_fails(le64(1000) + "{}", "larger than the file"); }

BOOST_AUTO_TEST_CASE(bad_header_length_near_2_pow_64) {
  index_fails(le64(~std::uint64_t{0}) + "{}", "overflows");
  index_fails(le64(~std::uint64_t{0} - 64) + "{}", "exceeds the limit");
}

BOOST_AUTO_TEST_CASE(bad_header_larger_than_limit) {
  index_fails(le64(100'000'001) + "{}", "exceeds the limit of 100000000");
}

BOOST_AUTO_TEST_CASE(bad_header_not_utf8) {
  index_fails(safetensors_bytes("{\"w\xff\xfe\":{}}", ""), "not valid UTF-8");
  index_fails(safetensors_bytes("{\"\xc0\xaf\":{}}", ""), "not valid UTF-8");  // overlong '/'
}

BOOST_AUTO_TEST_CASE(bad_header_not_json) { index_fails(safetensors_bytes("{\"w\": nope}", ""), "not valid JSON"); }

BOOST_AUTO_TEST_CASE(bad_header_json_not_object) {
  index_fails(safetensors_bytes("[1, 2, 3]", ""), "JSON must be an object (got array)");
}

BOOST_AUTO_TEST_CASE(bad_duplicate_tensor_names) {
  const std::string e = st_entry("w", "F32", "[1]", 0, 4);
  index_fails(safetensors_bytes(st_header({e, e}), bytes_of(std::vector<float>{1})), "duplicate key 'w'");
}

BOOST_AUTO_TEST_CASE(bad_metadata_non_string_value) {
  index_fails(safetensors_bytes("{\"__metadata__\":{\"epoch\":3}}", ""), "value of 'epoch' must be a string");
  index_fails(safetensors_bytes("{\"__metadata__\":[1]}", ""), "__metadata__");
}

BOOST_AUTO_TEST_CASE(bad_overlapping_offsets) {
  const std::string h = st_header({st_entry("a", "F32", "[2]", 0, 8), st_entry("b", "F32", "[2]", 4, 12)});
  index_fails(safetensors_bytes(h, std::string(12, '\0')), "overlap tensor 'a'");
}

BOOST_AUTO_TEST_CASE(bad_reversed_offsets) {
  index_fails(safetensors_bytes(st_header({st_entry("a", "F32", "[2]", 8, 0)}), std::string(8, '\0')), "reversed");
}

BOOST_AUTO_TEST_CASE(bad_gapped_offsets) {
  const std::string h = st_header({st_entry("a", "F32", "[2]", 0, 8), st_entry("b", "F32", "[2]", 12, 20)});
  index_fails(safetensors_bytes(h, std::string(20, '\0')), "gap of 4 bytes after tensor 'a'");
}

BOOST_AUTO_TEST_CASE(bad_first_tensor_not_at_zero) {
  index_fails(safetensors_bytes(st_header({st_entry("a", "F32", "[2]", 4, 12)}), std::string(12, '\0')),
              "first tensor starts at 4");
}

BOOST_AUTO_TEST_CASE(bad_trailing_bytes) {
  index_fails(safetensors_bytes(st_header({st_entry("a", "F32", "[2]", 0, 8)}), std::string(9, '\0')),
              "1 trailing bytes");
}

BOOST_AUTO_TEST_CASE(bad_data_shorter_than_declared) {
  index_fails(safetensors_bytes(st_header({st_entry("a", "F32", "[2]", 0, 8)}), std::string(7, '\0')),
              "data section shorter than declared");
}

BOOST_AUTO_TEST_CASE(bad_shape_element_count_overflows) {
  index_fails(
      safetensors_bytes(st_header({st_entry("a", "F32", "[4294967296,4294967296,16]", 0, 8)}), std::string(8, '\0')),
      "size overflows");
  // Elements fit in 64 bits but bytes do not.
  index_fails(safetensors_bytes(st_header({st_entry("a", "F64", "[4611686018427387904]", 0, 8)}), std::string(8, '\0')),
              "byte count: size overflows");
}

BOOST_AUTO_TEST_CASE(bad_negative_or_fractional_shape) {
  index_fails(safetensors_bytes(st_header({st_entry("a", "F32", "[-2]", 0, 8)}), std::string(8, '\0')),
              "non-negative integers");
  index_fails(safetensors_bytes(st_header({st_entry("a", "F32", "[2.5]", 0, 8)}), std::string(8, '\0')),
              "non-negative integers");
}

BOOST_AUTO_TEST_CASE(bad_dtype_unknown) {
  index_fails(safetensors_bytes(st_header({st_entry("a", "F33", "[2]", 0, 8)}), std::string(8, '\0')),
              "unknown dtype 'F33'");
}

BOOST_AUTO_TEST_CASE(bad_dtype_unsupported_is_never_reinterpreted) {
  TempDir dir;
  // Valid file: F8_E4M3 is a known dtype (index accepts it) but must not be read as anything else.
  const std::string p =
      put(dir, safetensors_bytes(st_header({st_entry("a", "F8_E4M3", "[2,4]", 0, 8)}), std::string(8, 'x')));
  const auto index = io::read_safetensors_index(p);
  BOOST_TEST(index.tensors.at(0).dtype == "F8_E4M3");
  check_error([&] { io::read_safetensors_tensor(index, "a"); }, "dtype F8_E4M3 is not supported");
  check_error([&] { io::read_safetensors(p, "a"); }, "dtype F8_E4M3 is not supported");
  const std::string q =
      put(dir, safetensors_bytes(st_header({st_entry("i", "I32", "[1,2]", 0, 8)}), std::string(8, 'x')), "i.st");
  check_error([&] { io::read_safetensors(q, ""); }, "dtype I32 is not supported");
}

BOOST_AUTO_TEST_CASE(bad_byte_count_not_elements_times_size) {
  index_fails(safetensors_bytes(st_header({st_entry("a", "F32", "[2]", 0, 4)}), std::string(4, '\0')),
              "span 4 bytes (expected 8");
  index_fails(safetensors_bytes(st_header({st_entry("a", "BF16", "[3]", 0, 12)}), std::string(12, '\0')),
              "span 12 bytes (expected 6");
}

BOOST_AUTO_TEST_CASE(bad_entry_keys) {
  index_fails(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", ""), "missing key 'data_offsets'");
  index_fails(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}",
                                std::string(4, '\0')),
              "unknown key 'x'");
  index_fails(safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", ""),
              "data_offsets must be [begin, end]");
}

BOOST_AUTO_TEST_CASE(bad_expected_tensor_missing_lists_what_is_there) {
  TempDir dir;
  const std::string p = put(dir, two_tensor_file());
  check_error([&] { io::read_safetensors(p, "wte.weight"); }, "tensor 'wte.weight': not found (file has: emb, bias)");
}

BOOST_AUTO_TEST_CASE(bad_wrong_rank) {
  TempDir dir;
  const std::string p = put(dir, two_tensor_file());
  check_error([&] { io::read_safetensors(p, "bias"); }, "tensor 'bias': rank 1 (expected 2)");
  const std::string q =
      put(dir, safetensors_bytes(st_header({st_entry("t", "F32", "[1,2,2]", 0, 16)}), std::string(16, '\0')), "r3");
  check_error([&] { io::read_safetensors(q, "t"); }, "rank 3 (expected 2)");
  check_error([&] { io::read_safetensors_tensor(io::read_safetensors_index(q), "t"); }, "rank 3 (expected 1 or 2)");
}

BOOST_AUTO_TEST_CASE(bad_zero_rows) {
  TempDir dir;
  const std::string p = put(dir, safetensors_bytes(st_header({st_entry("w", "F32", "[0,4]", 0, 0)}), ""));
  check_error([&] { io::read_safetensors(p, "w"); }, "zero rows");
}

BOOST_AUTO_TEST_CASE(bad_ambiguous_default_tensor) {
  TempDir dir;
  const std::string h = st_header({st_entry("a", "F32", "[1,1]", 0, 4), st_entry("b", "F32", "[1,1]", 4, 8)});
  const std::string p = put(dir, safetensors_bytes(h, std::string(8, '\0')));
  check_error([&] { io::read_safetensors(p, ""); }, "2 rank-2 tensors (a, b)");
}

BOOST_AUTO_TEST_CASE(missing_file_is_no_input) {
  TempDir dir;
  check_error([&] { io::read_safetensors(dir.file("absent.safetensors"), ""); }, "cannot open", Exit::no_input);
}

BOOST_AUTO_TEST_SUITE_END()
