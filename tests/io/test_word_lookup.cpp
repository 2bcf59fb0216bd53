#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "io/word_lookup.hpp"

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

BOOST_AUTO_TEST_SUITE_END()
