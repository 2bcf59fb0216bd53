// embedlab forward through the real binary, against the Hugging Face goldens in
// tests/data/gpt2-golden (the same bounds as tests/model: logits within 10 × the reference's own
// float32-vs-float64 spread + 1e-5, final hidden state within 1e-4 of its norm, top-10 per position
// and the greedy continuation identical), and its errors.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace embedlab;
using namespace embedlab::test;

namespace {

// One golden case against the --json output of `embedlab forward ... --generate 8 --json`.
void check_case(const nlohmann::json& got, const nlohmann::json& ref) {
  BOOST_TEST(got.at("ids") == ref.at("input_ids"));
  BOOST_TEST(got.at("greedy") == ref.at("greedy_next8"));
  BOOST_TEST(got.at("top10_ids_per_pos") == ref.at("top10_ids_per_pos"));

  const auto logits = got.at("last_logits").get<std::vector<double>>();
  const auto ref_logits = ref.at("last_logits_f64").get<std::vector<double>>();
  BOOST_REQUIRE_EQUAL(logits.size(), ref_logits.size());
  const double tol = 10.0 * ref.at("max_abs_f32_vs_f64_logits").get<double>() + 1e-5;
  double err = 0;
  for (std::size_t v = 0; v < logits.size(); ++v) err = std::max(err, std::abs(logits[v] - ref_logits[v]));
  BOOST_TEST(err <= tol, "max |logit error| " << err << " > " << tol);

  const auto& hidden = got.at("last_hidden");
  const auto& ref_hidden = ref.at("last_hidden_f64");
  BOOST_REQUIRE_EQUAL(hidden.size(), ref_hidden.size());  // every position
  for (std::size_t t = 0; t < hidden.size(); ++t) {
    const auto h = hidden[t].get<std::vector<double>>();
    const auto r = ref_hidden[t].get<std::vector<double>>();
    BOOST_REQUIRE_EQUAL(h.size(), r.size());
    double d2 = 0, n2 = 0;
    for (std::size_t i = 0; i < h.size(); ++i) d2 += (h[i] - r[i]) * (h[i] - r[i]), n2 += r[i] * r[i];
    BOOST_TEST(std::sqrt(d2 / n2) <= Tol<float>::loose, "position " << t);
  }
}

std::string ids_arg(const nlohmann::json& ids) {
  std::string s;
  for (const auto& id : ids) s += (s.empty() ? "" : ",") + std::to_string(id.get<int>());
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_forward)

// The acceptance command, verbatim: the tokenizer is found beside the model's parent
// directory (tests/data/gpt2-tokenizer), the text encodes to the golden case's ids.
BOOST_AUTO_TEST_CASE(tiny_gpt2_text_reproduces_the_reference) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(golden, "gpt2-golden/tiny-gpt2.golden.json");
  EMBEDLAB_FIXTURE(tokenizer, "gpt2-tokenizer/encoder.json");
  const auto ref = nlohmann::json::parse(read_file(golden));
  TempDir dir;
  const auto r = run_command(
      fmt::format("{} forward --model '{}' --text 'The cat sat on the' --generate 8 --json", bin("embedlab"), model),
      dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto got = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& c : ref.at("cases")) {
    if (c.at("input_ids") != got.at("ids")) continue;
    found = true;
    check_case(got, c);
  }
  BOOST_TEST(found, "no golden case has the ids " << got.at("ids").dump());
}

// Every golden case of every checkpoint through --ids.
BOOST_AUTO_TEST_CASE(every_golden_case_through_ids) {
  for (const char* m : {"micro-gpt2", "micro-gpt2-untied", "micro-gpt2-hub-layout", "tiny-gpt2"}) {
    const std::string name = m;
    const std::string golden_name = name == "micro-gpt2-hub-layout" ? "micro-gpt2" : name;
    const std::string model = fixture("gpt2-golden/" + name);
    const std::string golden = fixture("gpt2-golden/" + golden_name + ".golden.json");
    TempDir dir;
    const auto ref = nlohmann::json::parse(read_file(golden));
    for (const auto& c : ref.at("cases")) {
      BOOST_TEST_CONTEXT(name << " ids " << ids_arg(c.at("input_ids"))) {
        const auto r = run_command(fmt::format("{} forward --model '{}' --ids {} --generate 8 --json", bin("embedlab"),
                                               model, ids_arg(c.at("input_ids"))),
                                   dir);
        BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        check_case(nlohmann::json::parse(r.out), c);
      }
    }
  }
}

// Without --json: a readable table per position and the decoded continuation.
BOOST_AUTO_TEST_CASE(text_output_names_tokens) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(tokenizer, "gpt2-tokenizer");
  TempDir dir;
  const auto r = run_command(fmt::format("{} forward --model '{}' --tokenizer '{}' --text 'The cat sat on the' "
                                         "--generate 4",
                                         bin("embedlab"), model, tokenizer),
                             dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find("3797 \" cat\"") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("greedy continuation (4 tokens): 8489 ") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("text: \"The cat sat on the foundation") != std::string::npos, r.out);
}

// Errors: one line on stderr, the exit code of the error contract, nothing on stdout.
BOOST_AUTO_TEST_CASE(bad_input_is_one_line) {
  EMBEDLAB_FIXTURE(micro, "gpt2-golden/micro-gpt2");  // vocab 512, n_positions 64
  TempDir dir;
  struct Bad {
    std::string args, says;
    int exit_code;
  };
  std::string long_prompt;
  for (int i = 0; i < 65; ++i) long_prompt += (i ? "," : "") + std::to_string(i);
  const std::vector<Bad> cases = {
      {"--ids 1,2,512", "token id out of vocabulary", 64},
      {"--ids " + long_prompt, "n_positions", 64},
      {"--ids 1,2 --generate 64", "n_positions", 64},
      {"--ids 1,2 --generate -1", "--generate", 64},
      {"--ids 1,x,3", "x", 64},
      {"--text 'The cat'", "vocabulary size differs", 65},  // the GPT-2 tokenizer found nearby has 50257 ids
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.args) {
      const auto r = run_command(fmt::format("{} forward --model '{}' {}", bin("embedlab"), micro, c.args), dir);
      BOOST_TEST(r.exit_code == c.exit_code, r.err);
      BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
      BOOST_TEST(r.err.find(c.says) != std::string::npos, r.err);
      BOOST_TEST(r.out.empty(), r.out);
    }
  }
  const auto missing =
      run_command(fmt::format("{} forward --model '{}' --ids 1", bin("embedlab"), dir.file("none")), dir);
  BOOST_TEST(missing.exit_code == 66, missing.err);
  BOOST_TEST(std::count(missing.err.begin(), missing.err.end(), '\n') == 1, missing.err);
}

BOOST_AUTO_TEST_SUITE_END()
