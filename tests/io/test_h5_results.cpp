// The HDF5 results writer: exact round trips, row-major layout, attributes, atomic commit.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "io/h5_results.hpp"
#include "testing.hpp"

#include <filesystem>

using namespace embedlab;
using namespace embedlab::io;

BOOST_AUTO_TEST_SUITE(h5_results)

BOOST_AUTO_TEST_CASE(round_trip_is_exact_and_row_major) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  arma::mat m = {{1.5, 2.25, -3.0}, {4.0, 5.0, 6.125}};  // 2×3
  arma::fmat f = arma::conv_to<arma::fmat>::from(m);
  const std::vector<double> v = {0.1, 0.2, 1e-300};
  const std::vector<std::string> s = {"cat", "dog", "ö é हु"};
  {
    H5ResultWriter w(path);
    w.write("/a/m", m, {"1", "a matrix"});
    w.write("/a/f", f, {"1", "a float matrix"});
    w.write("/b/v", v, {"s", "a vector"});
    w.write("/b/s", s, {"1", "strings"});
    w.write("/b/empty", std::vector<double>{}, {"1", "empty"});
    w.attr("/", "headline", std::string("x"));
    w.attr("/a", "n", std::int64_t{3});
    w.attr("/a", "x", 0.5);
    BOOST_TEST(!std::filesystem::exists(path));  // only the temp file exists before commit
    w.commit();
  }
  H5ResultReader r(path);
  BOOST_TEST(r.shape("/a/m") == (std::vector<std::uint64_t>{2, 3}));
  BOOST_TEST(r.read_doubles("/a/m") == (std::vector<double>{1.5, 2.25, -3.0, 4.0, 5.0, 6.125}));
  BOOST_TEST(r.read_doubles("/a/f") == (std::vector<double>{1.5, 2.25, -3.0, 4.0, 5.0, 6.125}));
  BOOST_TEST(r.read_doubles("/b/v") == v);
  BOOST_TEST(r.read_strings("/b/s") == s);
  BOOST_TEST(r.read_doubles("/b/empty").empty());
  BOOST_TEST(r.attr_string("/b/v", "units") == "s");
  BOOST_TEST(r.attr_string("/b/v", "description") == "a vector");
  BOOST_TEST(r.attr_string("/", "headline") == "x");
  BOOST_TEST(r.attr_double("/a", "n") == 3.0);
  BOOST_TEST(r.attr_double("/a", "x") == 0.5);
  BOOST_TEST(r.datasets() == (std::vector<std::string>{"/a/f", "/a/m", "/b/empty", "/b/s", "/b/v"}));
}

BOOST_AUTO_TEST_CASE(uncommitted_writer_leaves_nothing) {
  test::TempDir dir;
  {
    H5ResultWriter w(dir.file("r.h5"));
    w.write("/v", std::vector<double>{1}, {"1", "x"});
  }
  BOOST_TEST(std::filesystem::is_empty(dir.path()));
}

BOOST_AUTO_TEST_CASE(existing_final_file_untouched_until_commit) {
  test::TempDir dir;
  const std::string path = dir.file("r.h5");
  test::write_file(path, "earlier result");
  {
    H5ResultWriter w(path);
    w.write("/v", std::vector<double>{1}, {"1", "x"});
  }
  BOOST_TEST(test::read_file(path) == "earlier result");
}

BOOST_AUTO_TEST_CASE(unwritable_directory_is_cant_create) {
  try {
    H5ResultWriter w("/nonexistent-dir/r.h5");
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 73);
  }
}

BOOST_AUTO_TEST_CASE(reader_errors_are_located) {
  test::TempDir dir;
  test::write_file(dir.file("bad.h5"), "not hdf5");
  BOOST_CHECK_THROW(H5ResultReader r(dir.file("bad.h5")), Error);
}

BOOST_AUTO_TEST_SUITE_END()
