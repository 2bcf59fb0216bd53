#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "io/word_lookup.hpp"
#include "tokenizer/tokenizer.hpp"

#include <cmath>
#include <filesystem>

using namespace embedlab;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(word_lookup)

BOOST_AUTO_TEST_CASE(direct_lookup_and_oov_policies) {
  const std::vector<std::string> tokens = {"cat", "dog", "banana"};
  io::WordLookup lookup(tokens, std::nullopt);
  BOOST_TEST(!lookup.uses_tokenizer());
  io::LookupPolicy p;
  const auto r = lookup.resolve({"dog", "cat"}, p);
  BOOST_TEST(r[0].columns == std::vector<arma::uword>{1}, boost::test_tools::per_element());
  BOOST_TEST(r[1].columns == std::vector<arma::uword>{0}, boost::test_tools::per_element());
  BOOST_CHECK_THROW(lookup.resolve({"cat", "zebra"}, p), Error);
  p.word.oov = io::WordPolicy::Oov::skip;
  const auto s = lookup.resolve({"cat", "zebra"}, p);
  BOOST_TEST(io::usable(s[0].status));
  BOOST_TEST((s[1].status == io::LookupStatus::not_in_vocabulary));
  BOOST_TEST(s[1].columns.empty());
  BOOST_TEST(lookup.display(2) == "banana");
}

BOOST_AUTO_TEST_CASE(tokenizer_lookup_by_vocabulary_string) {
  EMBEDLAB_FIXTURE(dir, "gpt2-tokenizer");
  const InputFile src{(fs::path(dir) / "model.safetensors").string(), "gpt2", "F32", {}, ""};
  BOOST_TEST(io::WordLookup::tokenizer_dir_for(src).value_or("") == dir);
  BOOST_TEST(io::WordLookup::tokenizer_files(dir).size() == 2u);
  // A loaded matrix whose rows are only some tokens, in another order: ids map through the strings.
  const std::vector<std::string> tokens = {"Ġdog", "Ġcat", "Ġbanana", "ban"};
  io::WordLookup lookup(tokens, dir);
  BOOST_TEST(lookup.uses_tokenizer());
  io::LookupPolicy p;
  const auto r = lookup.resolve({"cat", "dog"}, p);
  BOOST_TEST(r[0].token_ids == std::vector<int>{3797}, boost::test_tools::per_element());
  BOOST_TEST(r[0].columns == std::vector<arma::uword>{1}, boost::test_tools::per_element());
  BOOST_TEST(r[1].columns == std::vector<arma::uword>{0}, boost::test_tools::per_element());
  BOOST_TEST(lookup.display(1) == " cat");
  // A token whose row is absent: error, or a reason under oov = skip.
  BOOST_CHECK_THROW(lookup.resolve({"house"}, p), Error);
  p.word.oov = io::WordPolicy::Oov::skip;
  BOOST_TEST((lookup.resolve({"house"}, p)[0].status == io::LookupStatus::excluded_row));
  // Multi-token words: error by default, dropped with a reason when asked.
  io::LookupPolicy m;
  BOOST_CHECK_THROW(lookup.resolve({"embeddingspace"}, m), Error);
  m.drop_multi_token = true;
  const auto d = lookup.resolve({"embeddingspace"}, m);
  BOOST_TEST((d[0].status == io::LookupStatus::dropped_multi_token));
  BOOST_TEST(d[0].token_ids.size() > 1u);
  BOOST_TEST(!d[0].reason.empty());
}

// multi_token = mean has one meaning: the mean of the pieces' loaded vectors, accumulated in double;
// from unit columns and the loaded norms it is the same vector.
BOOST_AUTO_TEST_CASE(mean_vector_is_the_mean_of_the_loaded_rows) {
  const arma::fmat E = {{1.0f, 10.0f, -2.0f}, {2.0f, 0.0f, 4.0f}, {0.5f, 1.0f, 1.5f}};  // (d=3, n=3)
  const std::vector<arma::uword> cols = {0, 2};
  const arma::vec m = io::WordLookup::mean_vector(E, cols);
  const std::vector<double> want = {(1.0 - 2.0) / 2, (2.0 + 4.0) / 2, (0.5 + 1.5) / 2};
  for (int i = 0; i < 3; ++i) BOOST_TEST(m[i] == want[i], boost::test_tools::tolerance(1e-15));
  arma::vec norms(3);
  arma::fmat U = E;
  for (arma::uword j = 0; j < 3; ++j) {
    double ss = 0;
    for (arma::uword i = 0; i < 3; ++i) ss += double(E(i, j)) * E(i, j);
    norms[j] = std::sqrt(ss);
    for (arma::uword i = 0; i < 3; ++i) U(i, j) = static_cast<float>(E(i, j) / norms[j]);
  }
  const arma::vec u = io::WordLookup::mean_vector(U, cols, &norms);
  for (int i = 0; i < 3; ++i) BOOST_TEST(u[i] == want[i], boost::test_tools::tolerance(1e-6));
  // One piece: the row itself.
  const arma::vec one = io::WordLookup::mean_vector(E, {1});
  BOOST_TEST(one[0] == 10.0);
}

// Word lookups search for a checkpoint's tokenizer as `embedlab forward --text` does: tiny-gpt2 has
// no tokenizer files, the gpt2-tokenizer/ directory beside its parent is found, and rows are ids.
BOOST_AUTO_TEST_CASE(tokenizer_search_as_forward_text) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tok, "gpt2-tokenizer");
  const InputFile src{(fs::path(model) / "model.safetensors").string(), "gpt2", "F32", {50257, 64}, ""};
  const auto found = io::WordLookup::tokenizer_dir_for(src);
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(fs::equivalent(*found, tok));
  BOOST_TEST(io::find_gpt2_tokenizer_dir(model).value_or("") == *found);
  // A tokenizer whose vocabulary does not fit the rows is not used.
  const InputFile other{src.path, "gpt2", "F32", {1000, 64}, ""};
  BOOST_TEST(!io::WordLookup::tokenizer_dir_for(other).has_value());
  // No token strings (no vocab.json): token id j is column j.
  io::WordLookup lookup({}, found);
  io::LookupPolicy p;
  const auto r = lookup.resolve({"cat"}, p);
  BOOST_TEST(r[0].columns == std::vector<arma::uword>{3797}, boost::test_tools::per_element());
  BOOST_TEST(lookup.display(3797) == " cat");
}

BOOST_AUTO_TEST_SUITE_END()
