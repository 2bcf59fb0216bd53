// embedlab tokenize through the real binary: GPT-2's ids (the golden case), BERT's vocab.txt with
// --add-special, `--` before a TEXT that starts with '-' or is empty, and one-line usage errors.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace embedlab;
using namespace embedlab::test;

BOOST_AUTO_TEST_SUITE(cli_tokenize)

BOOST_AUTO_TEST_CASE(json_ids_and_tokens) {
  EMBEDLAB_FIXTURE(gpt2, "gpt2-tokenizer");
  EMBEDLAB_FIXTURE(bert, "bert-base-uncased");
  TempDir dir;
  auto r = run_command(fmt::format("{} tokenize --tokenizer '{}' --json 'Hello, world!'", bin("embedlab"), gpt2), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j.at("ids") == nlohmann::json({15496, 11, 995, 0}));  // tests/data/gpt2-golden/tokenizer_cases.json
  BOOST_TEST(j.at("tokens") == nlohmann::json({"Hello", ",", "\u0120world", "!"}));
  // BERT uncased (vocab.txt without tokenizer_config.json: lowercase): [CLS] hello , world ! [SEP]
  r = run_command(
      fmt::format("{} tokenize --tokenizer '{}' --add-special --json 'Hello, World!'", bin("embedlab"), bert), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  j = nlohmann::json::parse(r.out);
  BOOST_TEST(j.at("ids") == nlohmann::json({101, 7592, 1010, 2088, 999, 102}));
  // `--` ends the options: a TEXT starting with '-', and the empty TEXT.
  r = run_command(fmt::format("{} tokenize --tokenizer '{}' --json -- '-x'", bin("embedlab"), gpt2), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(nlohmann::json::parse(r.out).at("ids") == nlohmann::json({12, 87}));  // "-" 12, "x" 87
  r = run_command(fmt::format("{} tokenize --tokenizer '{}' --add-special --json -- ''", bin("embedlab"), bert), dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(nlohmann::json::parse(r.out).at("ids") == nlohmann::json({101, 102}));
}

BOOST_AUTO_TEST_CASE(errors_are_one_line) {
  EMBEDLAB_FIXTURE(gpt2, "gpt2-tokenizer");
  TempDir dir;
  const std::vector<std::pair<std::string, int>> cases = {
      {fmt::format("--tokenizer '{}' -x", gpt2), 64},
      {fmt::format("--tokenizer '{}'", gpt2), 64},
      {fmt::format("--tokenizer '{}' a b", gpt2), 64},
      {"--tokenizer /nonexistent/dir x", 66},
  };
  for (const auto& [args, code] : cases) {
    BOOST_TEST_CONTEXT(args) {
      const auto r = run_command(fmt::format("{} tokenize {}", bin("embedlab"), args), dir);
      BOOST_TEST(r.exit_code == code, r.err);
      BOOST_TEST(r.out.empty());
      BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
