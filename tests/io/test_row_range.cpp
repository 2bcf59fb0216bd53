// Row-range reads (io/row_range.hpp): every split of the rows into blocks, concatenated, equals the
// whole-file read bit for bit, for each format; bad ranges and files cut short are one-line errors.
#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/embedding.hpp"
#include "io/row_range.hpp"
#include "testing.hpp"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using embedlab::Error;
using embedlab::Exit;
using embedlab::test::TempDir;
using embedlab::test::write_file;
namespace io = embedlab::io;

constexpr std::uint64_t kN = 13, kD = 5;

// Row-major n×d float values with a few exact-conversion edge cases (denormal-ish, negative zero).
std::vector<float> values(std::uint64_t n = kN, std::uint64_t d = kD) {
  std::mt19937 rng(embedlab::test::kSeed);
  std::normal_distribution<float> g;
  std::vector<float> v(n * d);
  for (auto& x : v) x = g(rng);
  v[3] = -0.0f;
  v[7] = 1e-30f;
  return v;
}

// Every split into 1..n+1 blocks (uneven: block b is [n·b/k, n·(b+1)/k)), concatenated.
void check_splits(const io::LoadOptions& o, const std::string& what) {
  const io::Embeddings whole = io::load_embeddings(o);
  const io::RowReader rr(o);
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST(rr.rows() == whole.rows());
    BOOST_TEST(rr.dim() == whole.dim());
    BOOST_TEST(rr.source_sha256() == whole.source.sha256);
    for (std::uint64_t k = 1; k <= rr.rows() + 1; ++k) {
      arma::fmat cat(rr.dim(), 0);
      std::vector<std::string> tokens;
      for (std::uint64_t b = 0; b < k; ++b) {
        const io::Embeddings e = rr.read(rr.rows() * b / k, rr.rows() * (b + 1) / k);
        BOOST_TEST(e.source.shape == whole.source.shape);
        cat = arma::join_rows(cat, e.vectors);
        tokens.insert(tokens.end(), e.tokens.begin(), e.tokens.end());
      }
      BOOST_TEST_REQUIRE(cat.n_cols == whole.vectors.n_cols);
      BOOST_TEST(std::memcmp(cat.memptr(), whole.vectors.memptr(), cat.n_elem * sizeof(float)) == 0, "blocks " << k);
      BOOST_TEST(tokens == whole.tokens);
    }
  }
}

template <class F>
void check_error(F&& f, Exit code, const std::string& part) {
  try {
    f();
    BOOST_ERROR("no error (expected '" << part << "')");
  } catch (const Error& e) {
    const std::string m = e.what();
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code));
    BOOST_TEST(m.find(part) != std::string::npos, m);
    BOOST_TEST(m.find('\n') == std::string::npos, m);
  }
}

std::uint16_t to_bf16(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<std::uint16_t>(b >> 16);
}
std::uint16_t to_f16(float f) {  // small normal values only (what the test uses)
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  const std::uint32_t sign = (b >> 16) & 0x8000u;
  const int e = static_cast<int>((b >> 23) & 0xff) - 127 + 15;
  if (e <= 0) return static_cast<std::uint16_t>(sign);
  return static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(e) << 10) | ((b >> 13) & 0x3ffu));
}

std::string safetensors_file(const TempDir& dir, const std::string& dtype) {
  const auto v = values();
  std::string data;
  if (dtype == "F32") {
    data = embedlab::test::bytes_of(v);
  } else {
    std::vector<std::uint16_t> h;
    for (float x : v) h.push_back(dtype == "BF16" ? to_bf16(x) : to_f16(x));
    data = embedlab::test::bytes_of(h);
  }
  // A second tensor before the matrix, so the matrix does not start the data section.
  const std::string pre = embedlab::test::bytes_of(std::vector<float>{1, 2, 3});
  const std::string header = "{" + embedlab::test::st_entry("bias", "F32", "[3]", 0, 12) + "," +
                             embedlab::test::st_entry("emb", dtype, "[13,5]", 12, 12 + data.size()) + "}";
  const std::string path = dir.file("m_" + dtype + ".safetensors");
  write_file(path, embedlab::test::safetensors_bytes(header, pre + data));
  return path;
}

std::string npy_file(const TempDir& dir, bool fortran, const std::string& descr) {
  const auto v = values();
  std::string data;
  if (!fortran) {
    data = descr == "<f8" ? embedlab::test::bytes_of(std::vector<double>(v.begin(), v.end()))
                          : embedlab::test::bytes_of(v, descr[0] == '>');
  } else {
    std::vector<float> t(v.size());
    for (std::uint64_t i = 0; i < kN; ++i)
      for (std::uint64_t c = 0; c < kD; ++c) t[c * kN + i] = v[i * kD + c];
    data = embedlab::test::bytes_of(t, descr[0] == '>');
  }
  const std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (13, 5), }";
  const std::string path = dir.file(std::string("m_") + (fortran ? "F" : "C") + descr.substr(1) + ".npy");
  write_file(path, embedlab::test::npy_bytes(1, dict, data));
  return path;
}

std::string hdf5_file(const TempDir& dir, bool chunked) {
  const auto v = values();
  const std::string path = dir.file(chunked ? "m_chunked.h5" : "m.h5");
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[2] = {kN, kD}, chunk[2] = {4, kD};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunked) {
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 4);
  }
  const hid_t ds = H5Dcreate2(f, "/emb", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  BOOST_REQUIRE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(f);
  return path;
}

// word2vec binary with a duplicate token (dropped: the rows shift) and the C tool's '\n' separators.
std::string w2v_file(const TempDir& dir, std::uint64_t n = kN) {
  const auto v = values(n);
  std::string s = std::to_string(n) + " " + std::to_string(kD) + "\n";
  for (std::uint64_t i = 0; i < n; ++i) {
    s += (i == 6 ? std::string("w2") : "w" + std::to_string(i)) + " ";
    s += embedlab::test::bytes_of(std::vector<float>(v.begin() + i * kD, v.begin() + (i + 1) * kD));
    s += "\n";
  }
  const std::string path = dir.file("m.bin");
  write_file(path, s);
  return path;
}

io::LoadOptions opts(const std::string& path, const std::string& tensor = "") {
  io::LoadOptions o;
  o.path = path;
  o.tensor = tensor;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(row_range)

BOOST_AUTO_TEST_CASE(safetensors_blocks_equal_whole) {
  const TempDir dir;
  for (const char* dt : {"F32", "F16", "BF16"}) check_splits(opts(safetensors_file(dir, dt), "emb"), dt);
}

BOOST_AUTO_TEST_CASE(npy_blocks_equal_whole_c_and_fortran) {
  const TempDir dir;
  for (const bool fortran : {false, true})
    for (const char* descr : {"<f4", ">f4"}) check_splits(opts(npy_file(dir, fortran, descr)), descr);
  check_splits(opts(npy_file(dir, false, "<f8")), "<f8");
}

BOOST_AUTO_TEST_CASE(hdf5_blocks_equal_whole) {
  const TempDir dir;
  check_splits(opts(hdf5_file(dir, false)), "contiguous");
  check_splits(opts(hdf5_file(dir, true)), "chunked");
}

BOOST_AUTO_TEST_CASE(word2vec_bin_blocks_equal_whole) {
  const TempDir dir;
  const std::string p = w2v_file(dir);
  check_splits(opts(p), "word2vec-bin");
  BOOST_TEST(io::RowReader(opts(p)).rows() == kN - 1);  // the duplicate "w2" is dropped, as whole reads do
  io::LoadOptions lim = opts(p);
  lim.limit = 9;
  check_splits(lim, "word2vec-bin limit 9");
}

BOOST_AUTO_TEST_CASE(bad_ranges_and_truncated_files) {
  const TempDir dir;
  const std::string st = safetensors_file(dir, "F32");
  const io::RowReader rr(opts(st, "emb"));
  check_error([&] { rr.read(10, 14); }, Exit::usage, "range [10, 14) is outside the rows");
  check_error([&] { rr.read(5, 4); }, Exit::usage, "outside the rows");
  // Cut short after opening: the block read fails, naming the file.
  std::filesystem::resize_file(st, std::filesystem::file_size(st) - 8);
  check_error([&] { rr.read(0, 13); }, Exit::data, "file size changed");
  // Truncated files refused when opened.
  check_error([&] { io::RowReader r(opts(st, "emb")); }, Exit::data, st);
  const std::string np = npy_file(dir, false, "<f4");
  std::filesystem::resize_file(np, std::filesystem::file_size(np) - 4);
  check_error([&] { io::RowReader r(opts(np)); }, Exit::data, "shorter than declared");
  const std::string w = w2v_file(dir);
  std::filesystem::resize_file(w, std::filesystem::file_size(w) - 10);
  check_error([&] { io::RowReader r(opts(w)); }, Exit::data, "truncated");
  const std::string h = hdf5_file(dir, false);
  check_error([&] { io::RowReader(opts(h)).read(0, 14); }, Exit::usage, "outside the rows");
  // Formats without row-range reads.
  const std::string txt = dir.file("m.txt");
  write_file(txt, "a 1 2\nb 3 4\n");
  check_error([&] { io::RowReader r(opts(txt)); }, Exit::usage, "support safetensors, npy, hdf5 and word2vec-bin");
}

BOOST_AUTO_TEST_SUITE_END()
