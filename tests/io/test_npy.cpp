#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "core/sha256.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

using namespace embedlab;
using namespace embedlab::test;

namespace {

std::string put(const TempDir& dir, const std::string& bytes) {
  const std::string p = dir.file("a.npy");
  write_file(p, bytes);
  return p;
}

std::string dict(const std::string& descr, bool fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
}

// Row-major 2×3 values m[i][j] = 10 i + j + 0.5 (exact in every float type used).
const std::vector<double> kRowMajor = {0.5, 1.5, 2.5, 10.5, 11.5, 12.5};
const std::vector<double> kColMajor = {0.5, 10.5, 1.5, 11.5, 2.5, 12.5};

void check_2x3(const io::Embeddings& e) {
  BOOST_TEST(e.rows() == 2u);
  BOOST_TEST(e.dim() == 3u);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) BOOST_TEST(e.vectors(j, i) == static_cast<float>(kRowMajor[i * 3 + j]));
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

void npy_fails(const std::string& bytes, const std::string& part) {
  TempDir dir;
  const std::string p = put(dir, bytes);
  check_error([&] { io::read_npy(p); }, part);
}

const std::string kData = bytes_of(as<float>(kRowMajor));

}  // namespace

BOOST_AUTO_TEST_SUITE(npy)

BOOST_AUTO_TEST_CASE(round_trips_every_dtype_order_and_version) {
  TempDir dir;
  // F16 patterns of 0.5, 1.5, 2.5, 10.5, 11.5, 12.5.
  const std::vector<std::uint16_t> h_row = {0x3800, 0x3E00, 0x4100, 0x4940, 0x49C0, 0x4A40};
  const std::vector<std::uint16_t> h_col = {0x3800, 0x4940, 0x3E00, 0x49C0, 0x4100, 0x4A40};
  struct Case {
    int version;
    std::string descr;
    bool fortran;
    std::string data;
  };
  const std::vector<Case> cases = {
      {1, "<f4", false, bytes_of(as<float>(kRowMajor))},
      {1, ">f4", false, bytes_of(as<float>(kRowMajor), true)},
      {1, "<f8", false, bytes_of(kRowMajor)},
      {1, ">f8", false, bytes_of(kRowMajor, true)},
      {1, "<f2", false, bytes_of(h_row)},
      {1, "<f4", true, bytes_of(as<float>(kColMajor))},
      {1, ">f8", true, bytes_of(kColMajor, true)},
      {1, "<f2", true, bytes_of(h_col)},
      {2, "<f4", false, bytes_of(as<float>(kRowMajor))},
      {3, ">f4", true, bytes_of(as<float>(kColMajor), true)},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("v" << c.version << " " << c.descr << " fortran=" << c.fortran) {
      const std::string bytes = npy_bytes(c.version, dict(c.descr, c.fortran, "(2, 3)"), c.data);
      const std::string p = put(dir, bytes);
      const io::Embeddings e = io::read_npy(p);
      check_2x3(e);
      BOOST_TEST(e.source.format == "npy");
      BOOST_TEST(e.source.dtype == c.descr);
      BOOST_TEST(e.source.sha256 == sha256_hex(bytes));  // every byte of the file is read
    }
  }
}

BOOST_AUTO_TEST_CASE(header_variants_numpy_writes) {
  TempDir dir;
  // Key order, double quotes, no trailing comma, Python 2 longs: all seen in real files.
  for (const std::string d : {"{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
                              "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L, 3L)}"}) {
    check_2x3(io::read_npy(put(dir, npy_bytes(1, d, kData))));
  }
  const io::NpyHeader h = io::read_npy_header(put(dir, npy_bytes(2, dict("<f4", false, "(2, 3)"), kData)));
  BOOST_TEST(h.major == 2);
  BOOST_TEST(h.data_offset % 64 == 0u);
}

BOOST_AUTO_TEST_CASE(real_wpe_equals_safetensors_exactly) {
  EMBEDLAB_FIXTURE(npy_path, "gpt2-wpe/wpe.npy");
  EMBEDLAB_FIXTURE(st_path, "gpt2-wpe/gpt2-wpe-lnf.safetensors");
  const io::Embeddings a = io::read_npy(npy_path);
  const io::Embeddings b = io::read_safetensors(st_path, "wpe.weight");
  BOOST_TEST(a.rows() == 1024u);
  BOOST_TEST(a.dim() == 768u);
  BOOST_TEST(std::memcmp(a.vectors.memptr(), b.vectors.memptr(), a.vectors.n_elem * sizeof(float)) == 0);
  BOOST_TEST(a.source.sha256 == sha256_file(npy_path));
  const double expect[] = {-0.01882, -0.19742, 0.00403, 0.01135, 0.06382};
  // The reference values are rounded to 5 decimals: compare with an absolute margin.
  for (int j = 0; j < 5; ++j) BOOST_TEST(std::abs(a.vectors(j, 0) - expect[j]) <= Tol<float>::sum);
}

// ---- bad inputs ----

BOOST_AUTO_TEST_CASE(bad_magic) {
  std::string b = npy_bytes(1, dict("<f4", false, "(2, 3)"), kData);
  b[1] = 'X';
  npy_fails(b, "not a .npy file");
  npy_fails("short", "too short");
}

BOOST_AUTO_TEST_CASE(bad_unsupported_version) {
  std::string b = npy_bytes(1, dict("<f4", false, "(2, 3)"), kData);
  b[6] = 4;
  npy_fails(b, "unsupported .npy version 4.0");
  b[6] = 1;
  b[7] = 1;
  npy_fails(b, "unsupported .npy version 1.1");
}

BOOST_AUTO_TEST_CASE(bad_header_length_past_eof) {
  std::string b = npy_bytes(1, dict("<f4", false, "(2, 3)"), "");
  b[8] = '\xff';
  b[9] = '\x7f';
  npy_fails(b, "runs past the end of the file");
  std::string v2 = npy_bytes(2, dict("<f4", false, "(2, 3)"), "");
  v2[11] = '\x40';  // 1 GiB header
  npy_fails(v2, "runs past the end of the file");
}

BOOST_AUTO_TEST_CASE(bad_header_missing_key) {
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'shape': (2, 3), }", kData), "missing key 'fortran_order'");
}

BOOST_AUTO_TEST_CASE(bad_header_extra_key) {
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }", kData),
            "unexpected key 'x'");
}

BOOST_AUTO_TEST_CASE(bad_header_duplicate_key) {
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", kData),
            "duplicate key 'descr'");
}

BOOST_AUTO_TEST_CASE(bad_negative_shape) {
  npy_fails(npy_bytes(1, dict("<f4", false, "(-2, 3)"), kData), "negative dimension -2");
}

BOOST_AUTO_TEST_CASE(bad_fortran_order_not_bool) {
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", kData),
            "fortran_order: must be True or False (got an integer)");
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 3), }", kData),
            "fortran_order: must be True or False (got a string)");
}

BOOST_AUTO_TEST_CASE(bad_malformed_dict) {
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", kData), "");
  npy_fails(npy_bytes(1, "{'descr': '<f4' 'fortran_order': False}", kData), "expected ',' or '}'");
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3)}", kData), "unexpected character");
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.5)}", kData), "only integers");
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 99999999999999999999)}", kData),
            "integer too large");
  npy_fails(npy_bytes(1, "[1, 2]", kData), "must be a dict");
  npy_fails(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", kData), "must be a tuple");
}

BOOST_AUTO_TEST_CASE(bad_object_dtype_never_unpickled) {
  npy_fails(npy_bytes(1, dict("|O", false, "(2, 3)"), std::string(48, '\0')), "object dtype '|O' refused");
}

BOOST_AUTO_TEST_CASE(bad_structured_dtype) {
  npy_fails(npy_bytes(1, "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", kData),
            "structured dtype is not supported");
}

BOOST_AUTO_TEST_CASE(bad_unsupported_dtype) {
  npy_fails(npy_bytes(1, dict("<i4", false, "(2, 3)"), kData), "dtype '<i4' is not supported");
}

BOOST_AUTO_TEST_CASE(bad_data_shorter_than_declared) {
  npy_fails(npy_bytes(1, dict("<f4", false, "(2, 3)"), kData.substr(0, 20)),
            "shorter than declared (got 20 bytes, expected 24");
  npy_fails(npy_bytes(1, dict("<f4", false, "(2, 3)"), kData + "x"), "1 trailing bytes");
}

BOOST_AUTO_TEST_CASE(bad_rank_and_zero_rows) {
  npy_fails(npy_bytes(1, dict("<f4", false, "(6,)"), kData), "rank 1 (expected 2)");
  npy_fails(npy_bytes(1, dict("<f4", false, "(0, 3)"), ""), "zero rows");
  npy_fails(npy_bytes(1, dict("<f4", false, "(4294967296, 4294967296)"), kData), "size overflows");
}

BOOST_AUTO_TEST_SUITE_END()
