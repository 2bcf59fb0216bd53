// word2vec C binary reader: a file written by gensim, round trips with and without the C tool's
// '\n' separators, and one test per bad input of CONVENTIONS.md.
#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>

namespace tt = boost::test_tools;
using embedlab::Exit;
using embedlab::io::Embeddings;
using embedlab::io::read_word2vec_bin;
using embedlab::test::check_error;
using embedlab::test::TempDir;
using embedlab::test::write_file;

namespace {

std::string le_floats(std::initializer_list<float> xs) {
  std::string s;
  for (const float x : xs) {
    char b[4];
    std::memcpy(b, &x, 4);  // the test host is little-endian like every word2vec file
    s.append(b, 4);
  }
  return s;
}

struct Rec {
  std::string token;
  std::vector<float> v;
};
// `sep` follows each vector: "\n" as the C tool writes, "" as gensim writes.
std::string to_bin(const std::vector<Rec>& recs, const std::string& sep, std::string header = "") {
  std::string s = header.empty() ? fmt::format("{} {}\n", recs.size(), recs.front().v.size()) : header;
  for (const auto& r : recs) {
    s += r.token + " ";
    for (const float x : r.v) s += le_floats({x});
    s += sep;
  }
  return s;
}

std::vector<Rec> make_recs(std::size_t n, std::size_t d) {
  std::vector<Rec> out;
  for (std::size_t j = 0; j < n; ++j) {
    Rec r{j % 4 == 0 ? fmt::format("слово{}", j) : fmt::format("w{}", j), {}};
    for (std::size_t k = 0; k < d; ++k) r.v.push_back(std::ldexp(float(j * 31 + k * 7) - 100.0f, -int(k % 9)) / 3.0f);
    out.push_back(r);
  }
  return out;
}

void check_equal(const Embeddings& e, const std::vector<Rec>& recs, std::size_t n) {
  BOOST_REQUIRE(e.rows() == n);
  for (std::size_t j = 0; j < n; ++j) {
    BOOST_TEST(e.tokens[j] == recs[j].token);
    for (std::size_t k = 0; k < recs[j].v.size(); ++k) BOOST_TEST(e.vectors(k, j) == recs[j].v[k]);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(word2vec_bin)

BOOST_AUTO_TEST_CASE(gensim_euclidean_vectors) {
  EMBEDLAB_FIXTURE(path, "peer-files/euclidean_vectors.bin");
  const Embeddings e = read_word2vec_bin(path);
  BOOST_TEST(e.rows() == 2747u);
  BOOST_TEST(e.dim() == 10u);
  BOOST_TEST(e.tokens[0] == "the");
  BOOST_TEST(e.tokens[1] == "to");
  BOOST_TEST(e.source.format == "word2vec-bin");
  BOOST_TEST(e.source.sha256 == embedlab::sha256_file(path));
  // The first vector's bytes sit right after "2747 10\nthe ".
  const std::string bytes = embedlab::test::read_file(path);
  float first[10];
  std::memcpy(first, bytes.data() + std::strlen("2747 10\nthe "), sizeof first);
  for (int k = 0; k < 10; ++k) BOOST_TEST(e.vectors(k, 0) == first[k]);
  BOOST_TEST(read_word2vec_bin(path, 100).rows() == 100u);
}

BOOST_AUTO_TEST_CASE(round_trip_with_and_without_newlines) {
  const auto recs = make_recs(25, 6);
  TempDir dir;
  for (const std::string sep : {"", "\n"}) {
    write_file(dir.file("r.bin"), to_bin(recs, sep));
    check_equal(read_word2vec_bin(dir.file("r.bin")), recs, 25);
    check_equal(read_word2vec_bin(dir.file("r.bin"), 3), recs, 3);
  }
}

BOOST_AUTO_TEST_CASE(gzip_equals_plain) {
  const auto recs = make_recs(300, 12);
  TempDir dir;
  const std::string bytes = to_bin(recs, "\n");
  write_file(dir.file("r.bin"), bytes);
  gzFile gz = gzopen(dir.file("r.bin.gz").c_str(), "wb");
  BOOST_REQUIRE(gz != nullptr);
  BOOST_REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  BOOST_REQUIRE(gzclose(gz) == Z_OK);
  const Embeddings a = read_word2vec_bin(dir.file("r.bin"));
  const Embeddings b = read_word2vec_bin(dir.file("r.bin.gz"));
  BOOST_TEST(a.tokens == b.tokens, tt::per_element());
  BOOST_TEST(std::equal(a.vectors.begin(), a.vectors.end(), b.vectors.begin(), b.vectors.end()));
}

BOOST_AUTO_TEST_CASE(bad_header_lies_bounded_by_file_size) {
  const auto recs = make_recs(3, 4);
  TempDir dir;
  write_file(dir.file("c.bin"), to_bin(recs, "", "4000000000 4\n"));
  check_error([&] { read_word2vec_bin(dir.file("c.bin")); }, {"c.bin: header", "4000000000 records"}, Exit::data);
  write_file(dir.file("d.bin"), to_bin(recs, "", "3 400000000000\n"));
  check_error([&] { read_word2vec_bin(dir.file("d.bin")); }, {"header", "400000000000"}, Exit::data);
  write_file(dir.file("o.bin"), to_bin(recs, "", "18446744073709551615 4611686018427387904\n"));
  check_error([&] { read_word2vec_bin(dir.file("o.bin")); }, {"header", "overflow"}, Exit::data);
  write_file(dir.file("g.bin"), to_bin(recs, "", "3 four\n"));
  check_error([&] { read_word2vec_bin(dir.file("g.bin")); }, {"byte 0", "'count dim'"}, Exit::data);
  write_file(dir.file("z.bin"), to_bin(recs, "", "0 4\n"));
  check_error([&] { read_word2vec_bin(dir.file("z.bin")); }, {"at least 1"}, Exit::data);
  write_file(dir.file("n.bin"), std::string(300, 'x'));
  check_error([&] { read_word2vec_bin(dir.file("n.bin")); }, {"no header line"}, Exit::data);
  // Fewer records than the header says (each still fits the size bound).
  write_file(dir.file("f.bin"), to_bin(recs, "", "4 4\n") + std::string(10, '\n'));
  check_error([&] { read_word2vec_bin(dir.file("f.bin")); }, {"ends after 3 records", "says 4"}, Exit::data);
  // More records than the header says.
  write_file(dir.file("m.bin"), to_bin(recs, "", "2 4\n"));
  check_error([&] { read_word2vec_bin(dir.file("m.bin")); }, {"after the 2 records"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_truncated_last_record) {
  auto recs = make_recs(5, 8);
  recs[4].token = "a_long_last_token_that_gets_cut";
  TempDir dir;
  const std::string whole = to_bin(recs, "\n");
  write_file(dir.file("t.bin"), whole.substr(0, whole.size() - 10));
  check_error([&] { read_word2vec_bin(dir.file("t.bin")); }, {"record 5 of 5", "truncated", "23 of 32 vector bytes"},
              Exit::data);
  // Cut inside the token (the file still passes the header's size bound).
  write_file(dir.file("u.bin"), whole.substr(0, whole.size() - 1 - 32 - 1 - 5));
  check_error([&] { read_word2vec_bin(dir.file("u.bin")); }, {"record 5 of 5", "truncated"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_duplicate_tokens_name_both_records) {
  auto recs = make_recs(4, 2);
  recs[3].token = recs[1].token;
  TempDir dir;
  write_file(dir.file("d.bin"), to_bin(recs, ""));
  embedlab::io::WordReadOptions o;
  o.duplicates = embedlab::io::DuplicatePolicy::error;
  check_error([&] { read_word2vec_bin(dir.file("d.bin"), o); },
              {"byte 46", "record 4", "duplicate token \"w1\" (first at record 2)"}, Exit::data);
}

// gensim 4.2 keeps the first occurrence (and logs the rest); the default policy does the same and
// lists every dropped record. A later record repeating an earlier one must not shift the numbers.
BOOST_AUTO_TEST_CASE(duplicates_first_keeps_the_first_and_lists_the_rest) {
  auto recs = make_recs(6, 3);
  recs[2].token = recs[0].token;  // record 3 repeats record 1
  recs[4].token = recs[3].token;  // record 5 repeats record 4 (row 2 after the first drop)
  TempDir dir;
  write_file(dir.file("d.bin"), to_bin(recs, "\n"));
  const Embeddings e = read_word2vec_bin(dir.file("d.bin"));
  BOOST_TEST(e.tokens == (std::vector<std::string>{recs[0].token, recs[1].token, recs[3].token, recs[5].token}),
             tt::per_element());
  BOOST_TEST(e.rows() == 4u);
  BOOST_TEST(e.source.shape == (std::vector<std::uint64_t>{4, 3}), tt::per_element());
  for (const auto& [row, rec] : {std::pair{0, 0}, std::pair{1, 1}, std::pair{2, 3}, std::pair{3, 5}})
    for (int k = 0; k < 3; ++k) BOOST_TEST(e.vectors(k, row) == recs[rec].v[k]);
  BOOST_TEST(e.duplicate_position == "record");
  BOOST_REQUIRE(e.duplicates.size() == 2u);
  BOOST_TEST(e.duplicates[0].token == recs[0].token);
  BOOST_TEST(e.duplicates[0].at == 3u);
  BOOST_TEST(e.duplicates[0].first_at == 1u);
  BOOST_TEST(e.duplicates[1].token == recs[3].token);
  BOOST_TEST(e.duplicates[1].at == 5u);
  BOOST_TEST(e.duplicates[1].first_at == 4u);
  // The limit counts records as gensim's does, the dropped ones included.
  const Embeddings l = read_word2vec_bin(dir.file("d.bin"), 3);
  BOOST_TEST(l.rows() == 2u);
  BOOST_TEST(l.duplicates.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_invalid_utf8_token) {
  auto recs = make_recs(3, 2);
  recs[2].token = "caf\xe9";
  TempDir dir;
  write_file(dir.file("u.bin"), to_bin(recs, ""));
  check_error([&] { read_word2vec_bin(dir.file("u.bin")); }, {"record 3", "UTF-8"}, Exit::data);
}

BOOST_AUTO_TEST_CASE(bad_non_finite_values) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto recs = make_recs(3, 4);
    recs[1].v[2] = bad;
    TempDir dir;
    write_file(dir.file("f.bin"), to_bin(recs, ""));
    check_error([&] { read_word2vec_bin(dir.file("f.bin")); }, {"record 2", "value 3", "not finite"}, Exit::data);
  }
}

BOOST_AUTO_TEST_CASE(bad_empty_and_missing_file) {
  TempDir dir;
  write_file(dir.file("e.bin"), "");
  check_error([&] { read_word2vec_bin(dir.file("e.bin")); }, {"e.bin", "empty file"}, Exit::data);
  check_error([&] { read_word2vec_bin(dir.file("absent.bin")); }, {"absent.bin"}, Exit::no_input);
  write_file(dir.file("t.bin"), "1 2\n" + std::string(" ") + le_floats({1, 2}) + "\n");
  check_error([&] { read_word2vec_bin(dir.file("t.bin")); }, {"empty token"}, Exit::data);
}

BOOST_AUTO_TEST_SUITE_END()
