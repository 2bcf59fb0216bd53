// The HDF5 reader runs libhdf5 in a child process (io/isolate.hpp): a crash inside the library
// becomes a one-line error naming the file, and the calling process carries on. The crash is
// injected with EMBEDLAB_TEST_HDF5_CRASH=1 (honoured only in the reader's child); mutated files
// then check that no corruption of a valid file gets past the reader other than as an Error.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/isolate.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

#include <hdf5.h>
#include <signal.h>
#include <stdlib.h>

#include <string>
#include <vector>

using namespace embedlab;
using embedlab::test::TempDir;

namespace {

// A 4 × 3 float32 dataset /emb, values i*0.5.
void write_small(const std::string& path) {
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  BOOST_REQUIRE(f >= 0);
  const hsize_t dims[2] = {4, 3};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t ds = H5Dcreate2(f, "/emb", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<float> v(12);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * float(i);
  BOOST_REQUIRE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
}

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const char* value) : name(std::move(n)) { ::setenv(name.c_str(), value, 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hdf5_isolation)

BOOST_AUTO_TEST_CASE(reads_through_the_child) {
  TempDir dir;
  write_small(dir.file("a.h5"));
  const io::Embeddings e = io::read_hdf5(dir.file("a.h5"), "/emb");
  BOOST_REQUIRE(e.rows() == 4u);
  BOOST_REQUIRE(e.dim() == 3u);
  for (std::uint64_t i = 0; i < 4; ++i)
    for (std::uint64_t k = 0; k < 3; ++k) BOOST_TEST(e.vectors(k, i) == 0.5f * float(i * 3 + k));
}

BOOST_AUTO_TEST_CASE(crash_in_the_library_is_a_clean_error) {
  TempDir dir;
  write_small(dir.file("a.h5"));
  {
    const ScopedEnv crash("EMBEDLAB_TEST_HDF5_CRASH", "1");
    try {
      (void)io::read_hdf5(dir.file("a.h5"), "/emb");
      BOOST_ERROR("the injected crash was not reported");
    } catch (const Error& e) {
      const std::string m = e.what();
      BOOST_TEST(e.exit_code() == 65, m);
      BOOST_TEST(m.find(dir.file("a.h5")) == 0u, m);
      BOOST_TEST(m.find("HDF5 library crashed while reading (signal 11") != std::string::npos, m);
      BOOST_TEST(m.find('\n') == std::string::npos, m);
    }
  }
  // This process is unharmed and reads the file again.
  BOOST_TEST(io::read_hdf5(dir.file("a.h5"), "/emb").rows() == 4u);
}

BOOST_AUTO_TEST_CASE(errors_cross_the_process_boundary_unchanged) {
  TempDir dir;
  write_small(dir.file("a.h5"));
  try {
    (void)io::read_hdf5(dir.file("a.h5"), "/missing");
    BOOST_ERROR("no error for a missing dataset");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 65);
    BOOST_TEST(std::string(e.what()).find("/emb") != std::string::npos, e.what());  // lists what is there
  }
  try {
    (void)io::read_hdf5(dir.file("nope.h5"), "/emb");
    BOOST_ERROR("no error for a missing file");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 66, e.what());
  }
}

BOOST_AUTO_TEST_CASE(limits_and_answers_of_run_isolated) {
  // A child that exceeds its CPU limit dies of SIGXCPU: a clean error, not a hang.
  try {
    (void)io::run_isolated("spin.h5", "HDF5", {0, 1}, [] {
      volatile std::uint64_t x = 0;
      for (;;) x = x + 1;
      return std::string();
    });
    BOOST_ERROR("the spinning child returned");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 65);
    BOOST_TEST(std::string(e.what()).find("spin.h5: HDF5 library crashed while reading (signal") == 0u, e.what());
  }
  BOOST_TEST(io::run_isolated("f", "X", {}, [] { return std::string("a\0b", 3); }) == std::string("a\0b", 3));
  try {
    (void)io::run_isolated("f", "X", {}, []() -> std::string { ::_exit(3); });
    BOOST_ERROR("no error for a child without an answer");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 70, e.what());
  }
}

BOOST_AUTO_TEST_CASE(mutated_files_end_as_errors) {
  TempDir dir;
  write_small(dir.file("a.h5"));
  const std::string good = test::read_file(dir.file("a.h5"));
  Rng rng(test::kSeed);
  int errors = 0, read = 0;
  for (int round = 0; round < 120; ++round) {
    std::string bad = good;
    const int flips = 1 + int(rng.next_u64() % 8);
    for (int k = 0; k < flips; ++k) {
      // Corrupt the metadata (the first ~1 KiB holds the superblock, object headers and B-trees).
      const std::size_t at = rng.next_u64() % std::min<std::size_t>(bad.size(), 2048);
      bad[at] = static_cast<char>(rng.next_u64() & 0xff);
    }
    if (round % 10 == 0) bad.resize(rng.next_u64() % bad.size());  // truncated
    test::write_file(dir.file("m.h5"), bad);
    try {
      (void)io::read_hdf5(dir.file("m.h5"), round % 2 ? "/emb" : "");
      ++read;
    } catch (const Error& e) {
      ++errors;
      BOOST_TEST(std::string(e.what()).find('\n') == std::string::npos, e.what());
    }
  }
  BOOST_TEST_MESSAGE("mutated HDF5 files: " << read << " read, " << errors << " clean errors");
  BOOST_TEST(errors > 0);
}

BOOST_AUTO_TEST_SUITE_END()
