// HDF5 reader: fixtures written here with the HDF5 C API; one test per bad input of
// CONVENTIONS.md, including files that would make the reader open other files.
#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

#include <hdf5.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tt = boost::test_tools;
using embedlab::Exit;
using embedlab::io::Embeddings;
using embedlab::io::read_hdf5;
using embedlab::test::check_error;
using embedlab::test::TempDir;

namespace {

// A file being written by a test; every HDF5 call is checked.
class Writer {
 public:
  explicit Writer(const std::string& path) {
    file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    BOOST_REQUIRE(file_ >= 0);
    lcpl_ = H5Pcreate(H5P_LINK_CREATE);
    BOOST_REQUIRE(H5Pset_create_intermediate_group(lcpl_, 1) >= 0);
  }
  ~Writer() {
    H5Pclose(lcpl_);
    H5Fclose(file_);
  }
  hid_t id() const { return file_; }
  hid_t lcpl() const { return lcpl_; }

  // Writes `values` (row-major, given as double) stored as `file_type`, with optional dcpl.
  void dataset(const std::string& name, hid_t file_type, const std::vector<hsize_t>& dims,
               const std::vector<double>& values, hid_t dcpl = H5P_DEFAULT) {
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t ds = H5Dcreate2(file_, name.c_str(), file_type, space, lcpl_, dcpl, H5P_DEFAULT);
    BOOST_REQUIRE(ds >= 0);
    if (!values.empty())
      BOOST_REQUIRE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
    H5Dclose(ds);
    H5Sclose(space);
  }

 private:
  hid_t file_ = -1, lcpl_ = -1;
};

std::vector<double> ramp(std::size_t n, double scale = 0.25) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = (double(i) - double(n) / 2) * scale;
  return v;
}

// The reader's matrix equals row-major n × d `values` rounded to float.
void check_matrix(const Embeddings& e, std::uint64_t n, std::uint64_t d, const std::vector<double>& values) {
  BOOST_REQUIRE(e.rows() == n);
  BOOST_REQUIRE(e.dim() == d);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint64_t k = 0; k < d; ++k) BOOST_TEST(e.vectors(k, i) == static_cast<float>(values[i * d + k]));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hdf5_reader)

BOOST_AUTO_TEST_CASE(float32_and_float64_any_byte_order) {
  TempDir dir;
  const auto v = ramp(12, 0.1);  // 0.1 steps are not exact in binary: float64 data must round to float
  {
    Writer w(dir.file("a.h5"));
    w.dataset("/f32le", H5T_IEEE_F32LE, {3, 4}, v);
    w.dataset("/f32be", H5T_IEEE_F32BE, {3, 4}, v);
    w.dataset("/deep/group/f64be", H5T_IEEE_F64BE, {3, 4}, v);
    w.dataset("/f64le", H5T_IEEE_F64LE, {4, 3}, v);
  }
  for (const char* name : {"/f32le", "/f32be", "/deep/group/f64be"}) {
    const Embeddings e = read_hdf5(dir.file("a.h5"), name);
    check_matrix(e, 3, 4, v);
    BOOST_TEST(e.tokens.empty());
    BOOST_TEST(e.source.format == "hdf5");
    BOOST_TEST(e.source.shape == (std::vector<std::uint64_t>{3, 4}), tt::per_element());
    BOOST_TEST(e.source.sha256 == embedlab::sha256_file(dir.file("a.h5")));  // the whole file
  }
  BOOST_TEST(read_hdf5(dir.file("a.h5"), "/f32be").source.dtype == "F32BE");
  BOOST_TEST(read_hdf5(dir.file("a.h5"), "deep/group/f64be").source.dtype == "F64BE");
  check_matrix(read_hdf5(dir.file("a.h5"), "/f64le"), 4, 3, v);
}

BOOST_AUTO_TEST_CASE(chunked_compressed_and_soft_link) {
  TempDir dir;
  const auto v = ramp(200 * 16, 0.01);
  {
    Writer w(dir.file("c.h5"));
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hsize_t chunk[2] = {64, 16};
    BOOST_REQUIRE(H5Pset_chunk(dcpl, 2, chunk) >= 0);
    BOOST_REQUIRE(H5Pset_shuffle(dcpl) >= 0);
    BOOST_REQUIRE(H5Pset_deflate(dcpl, 6) >= 0);
    w.dataset("/emb/weights", H5T_IEEE_F32LE, {200, 16}, v, dcpl);
    H5Pclose(dcpl);
    BOOST_REQUIRE(H5Lcreate_soft("/emb/weights", w.id(), "/alias", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    BOOST_REQUIRE(H5Lcreate_soft("weights", w.id(), "/emb/relative", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  }
  check_matrix(read_hdf5(dir.file("c.h5"), "/emb/weights"), 200, 16, v);
  check_matrix(read_hdf5(dir.file("c.h5"), "/alias"), 200, 16, v);
  check_matrix(read_hdf5(dir.file("c.h5"), "/emb/relative"), 200, 16, v);
  check_matrix(read_hdf5(dir.file("c.h5"), ""), 200, 16, v);  // the only rank-2 float dataset
}

BOOST_AUTO_TEST_CASE(default_dataset_hf_tf_path_or_listing) {
  TempDir dir;
  const auto v = ramp(6 * 2);
  {
    Writer w(dir.file("hf.h5"));
    w.dataset(embedlab::io::kHfTfGpt2WtePath, H5T_IEEE_F32LE, {6, 2}, v);
    w.dataset("/transformer/tfgp_t2lm_head_model/transformer/wpe/embeddings:0", H5T_IEEE_F32LE, {4, 2}, ramp(8));
    w.dataset("/transformer/tfgp_t2lm_head_model/transformer/ln_f/gamma:0", H5T_IEEE_F32LE, {2}, ramp(2));
  }
  const Embeddings e = read_hdf5(dir.file("hf.h5"), "");
  check_matrix(e, 6, 2, v);
  {
    Writer w(dir.file("two.h5"));
    w.dataset("/a", H5T_IEEE_F32LE, {2, 2}, ramp(4));
    w.dataset("/b", H5T_IEEE_F64LE, {3, 2}, ramp(6));
    w.dataset("/labels", H5T_STD_I32LE, {3}, ramp(3));
  }
  check_error([&] { read_hdf5(dir.file("two.h5"), ""); },
              {"two.h5", "2 rank-2 float datasets", "/a [2, 2] F32", "/b [3, 2] F64", "/labels [3] I32"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_not_hdf5_missing_file) {
  TempDir dir;
  embedlab::test::write_file(dir.file("x.h5"), "this is not an HDF5 file, just some text\n");
  check_error([&] { read_hdf5(dir.file("x.h5"), "/a"); }, {"x.h5", "not an HDF5 file"}, Exit::data);
  embedlab::test::write_file(dir.file("empty.h5"), "");
  check_error([&] { read_hdf5(dir.file("empty.h5"), "/a"); }, {"not an HDF5 file"}, Exit::data);
  check_error([&] { read_hdf5(dir.file("absent.h5"), "/a"); }, {"absent.h5"}, Exit::no_input);
}

BOOST_AUTO_TEST_CASE(bad_truncated_file) {
  TempDir dir;
  {
    Writer w(dir.file("t.h5"));
    w.dataset("/a", H5T_IEEE_F32LE, {100, 50}, ramp(5000));
  }
  const std::string bytes = embedlab::test::read_file(dir.file("t.h5"));
  embedlab::test::write_file(dir.file("cut.h5"), bytes.substr(0, bytes.size() / 2));
  check_error([&] { read_hdf5(dir.file("cut.h5"), "/a"); }, {"cut.h5", "HDF5:", "truncated"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_dataset_missing_lists_what_is_there) {
  TempDir dir;
  {
    Writer w(dir.file("m.h5"));
    w.dataset("/g/one", H5T_IEEE_F32LE, {2, 3}, ramp(6));
    w.dataset("/two", H5T_IEEE_F32LE, {4}, ramp(4));
  }
  check_error([&] { read_hdf5(dir.file("m.h5"), "/g/nope"); },
              {"m.h5: /g/nope: dataset not found", "/g/one [2, 3] F32", "/two [4] F32"}, Exit::data);
  check_error([&] { read_hdf5(dir.file("m.h5"), "/x/y/z"); }, {"/x/y/z: dataset not found"}, Exit::data);
  check_error([&] { read_hdf5(dir.file("m.h5"), "/g"); }, {"/g: not a dataset", "/g/one"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_non_float_dataset) {
  TempDir dir;
  {
    Writer w(dir.file("i.h5"));
    w.dataset("/ints", H5T_STD_I32LE, {2, 3}, ramp(6, 1.0));
    w.dataset("/u8", H5T_STD_U8LE, {2, 3}, std::vector<double>(6, 1.0));
  }
  check_error([&] { read_hdf5(dir.file("i.h5"), "/ints"); }, {"/ints", "I32", "expected float32 or float64"},
              Exit::data);
  check_error([&] { read_hdf5(dir.file("i.h5"), "/u8"); }, {"/u8", "U8"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_rank_not_2_or_empty) {
  TempDir dir;
  {
    Writer w(dir.file("r.h5"));
    w.dataset("/r1", H5T_IEEE_F32LE, {6}, ramp(6));
    w.dataset("/r3", H5T_IEEE_F32LE, {2, 3, 2}, ramp(12));
    w.dataset("/zero", H5T_IEEE_F32LE, {0, 4}, {});
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t ds = H5Dcreate2(w.id(), "/scalar", H5T_IEEE_F32LE, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    BOOST_REQUIRE(ds >= 0);
    H5Dclose(ds);
    H5Sclose(scalar);
  }
  check_error([&] { read_hdf5(dir.file("r.h5"), "/r1"); }, {"/r1", "rank 1", "expected rank 2"}, Exit::data);
  check_error([&] { read_hdf5(dir.file("r.h5"), "/r3"); }, {"/r3", "[2, 3, 2]", "rank 3"}, Exit::data);
  check_error([&] { read_hdf5(dir.file("r.h5"), "/zero"); }, {"/zero", "empty"}, Exit::data);
  check_error([&] { read_hdf5(dir.file("r.h5"), "/scalar"); }, {"/scalar", "rank 2"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_external_links_refused_before_reading) {
  TempDir dir;
  {
    Writer other(dir.file("other.h5"));
    other.dataset("/g/data", H5T_IEEE_F32LE, {2, 2}, ramp(4));
  }
  {
    Writer w(dir.file("l.h5"));
    w.dataset("/local", H5T_IEEE_F32LE, {2, 2}, ramp(4));
    // The target exists and is valid: only the reader's refusal can stop it.
    BOOST_REQUIRE(H5Lcreate_external(dir.file("other.h5").c_str(), "/g/data", w.id(), "/ext_data", H5P_DEFAULT,
                                     H5P_DEFAULT) >= 0);
    BOOST_REQUIRE(
        H5Lcreate_external(dir.file("other.h5").c_str(), "/g", w.id(), "/sub/ext_group", w.lcpl(), H5P_DEFAULT) >= 0);
    BOOST_REQUIRE(H5Lcreate_soft("/sub/ext_group/data", w.id(), "/sneaky", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  }
  const std::string f = dir.file("l.h5");
  check_error([&] { read_hdf5(f, "/ext_data"); }, {"/ext_data", "external link", "refused"}, Exit::data);
  check_error([&] { read_hdf5(f, "/sub/ext_group/data"); }, {"'/sub/ext_group' is an external link"}, Exit::data);
  check_error([&] { read_hdf5(f, "/sneaky"); }, {"/sneaky", "'/sub/ext_group' is an external link"}, Exit::data);
  check_matrix(read_hdf5(f, "/local"), 2, 2, ramp(4));  // the rest of the file is fine
  // The default choice never follows the link either: /local is the only rank-2 dataset it sees.
  check_matrix(read_hdf5(f, ""), 2, 2, ramp(4));
}

BOOST_AUTO_TEST_CASE(bad_external_raw_storage_refused) {
  TempDir dir;
  embedlab::test::write_file(dir.file("raw.bin"), std::string(16, '\0'));
  {
    Writer w(dir.file("e.h5"));
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    BOOST_REQUIRE(H5Pset_external(dcpl, dir.file("raw.bin").c_str(), 0, 16) >= 0);
    w.dataset("/ext", H5T_IEEE_F32LE, {2, 2}, {}, dcpl);
    H5Pclose(dcpl);
  }
  check_error([&] { read_hdf5(dir.file("e.h5"), "/ext"); }, {"/ext", "external file", "raw.bin", "refused"},
              Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_virtual_dataset_refused) {
  TempDir dir;
  {
    Writer src(dir.file("src.h5"));
    src.dataset("/data", H5T_IEEE_F32LE, {2, 2}, ramp(4));
  }
  {
    Writer w(dir.file("v.h5"));
    const hsize_t dims[2] = {2, 2};
    const hid_t vspace = H5Screate_simple(2, dims, nullptr);
    const hid_t sspace = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    BOOST_REQUIRE(H5Pset_virtual(dcpl, vspace, dir.file("src.h5").c_str(), "/data", sspace) >= 0);
    const hid_t ds = H5Dcreate2(w.id(), "/virt", H5T_IEEE_F32LE, vspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    BOOST_REQUIRE(ds >= 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sspace);
    H5Sclose(vspace);
  }
  check_error([&] { read_hdf5(dir.file("v.h5"), "/virt"); }, {"/virt", "virtual dataset", "refused"}, Exit::data);
  check_error([&] { read_hdf5(dir.file("v.h5"), ""); }, {"0 rank-2 float datasets", "/virt (virtual"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(hdf5_version_is_reported) {
  const std::string v = embedlab::hdf5_version();
  BOOST_TEST(v.find('.') != std::string::npos);
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  BOOST_TEST(v == std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel));
}

BOOST_AUTO_TEST_SUITE_END()
