// embedlab tokenize --tokenizer DIR|tokenizer.json [--add-special] [--json] [--] TEXT
#include "apps/embedlab/commands.hpp"
#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

namespace embedlab::cli {

namespace {

constexpr const char* kDefaultTokenizerDir = "data/gpt2";
constexpr const char* kUsage =
    "usage: embedlab tokenize [--tokenizer DIR|tokenizer.json] [--add-special] [--json] [--plain-special] [--] TEXT\n"
    "Token ids and tokens of TEXT with a Hugging Face tokenizer (tokenizer.json, GPT-2's vocab.json + merges.txt\n"
    "or encoder.json + vocab.bpe, BERT's vocab.txt). TEXT '-' reads standard input; '--' ends the options, so\n"
    "TEXT may start with '-' or be empty.\n\n"
    "options:\n"
    "  --tokenizer PATH   tokenizer directory or tokenizer.json (default: data/gpt2)\n"
    "  --add-special      run the post-processor ([CLS] ... [SEP], <s> ...)\n"
    "  --json             print {\"ids\": [...], \"tokens\": [...]}\n"
    "  --plain-special    treat added tokens in TEXT (<|endoftext|>) as plain text\n"
    "  -h, --help         show this help\n";

std::string json_string(const std::string& s) {
  // A byte-level token can be part of a multi-byte character; such bytes become U+FFFD.
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  std::string tokenizer, text;
  bool add_special = false, json = false, plain_special = false, have_text = false, options_done = false;
  // argv[0] is "tokenize".
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (!options_done && a == "--") {
      options_done = true;
    } else if (!options_done && (a == "-h" || a == "--help")) {
      fmt::print("{}", kUsage);
      return 0;
    } else if (!options_done && a == "--add-special") {
      add_special = true;
    } else if (!options_done && a == "--json") {
      json = true;
    } else if (!options_done && a == "--plain-special") {
      plain_special = true;
    } else if (!options_done && (a == "--tokenizer" || a.starts_with("--tokenizer="))) {
      if (a == "--tokenizer") {
        if (i + 1 >= argc)
          throw Error(Exit::usage, "tokenize: --tokenizer needs a value (see embedlab tokenize --help)");
        tokenizer = argv[++i];
      } else {
        tokenizer = std::string(a.substr(12));
      }
    } else if (!options_done && a.size() > 1 && a[0] == '-') {
      throw Error(Exit::usage, fmt::format("tokenize: unknown option '{}' (see embedlab tokenize --help; use -- "
                                           "before a TEXT that starts with '-')",
                                           a));
    } else {
      if (have_text)
        throw Error(Exit::usage,
                    fmt::format("tokenize: one TEXT expected (got a second one, '{}'; quote the text)", a));
      text = std::string(a);
      have_text = true;
    }
  }
  if (!have_text) throw Error(Exit::usage, "tokenize: missing TEXT (see embedlab tokenize --help)");
  if (text == "-" && !options_done)
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());

  if (tokenizer.empty()) {
    if (!std::filesystem::is_directory(kDefaultTokenizerDir))
      fail(Exit::no_input, kDefaultTokenizerDir, "",
           "no tokenizer here [hint: run `embedlab fetch gpt2-tokenizer`, or pass --tokenizer DIR|tokenizer.json]");
    tokenizer = kDefaultTokenizerDir;
  }
  const auto tok = tok::Tokenizer::from_path(tokenizer);
  const auto enc = tok.encode(text, add_special, !plain_special);

  if (json) {
    std::string id_list, token_list;
    for (std::size_t i = 0; i < enc.ids.size(); ++i) {
      const char* sep = i == 0 ? "" : ", ";
      id_list += fmt::format("{}{}", sep, enc.ids[i]);
      token_list += sep + json_string(enc.tokens[i]);
    }
    fmt::print("{{\"ids\": [{}], \"tokens\": [{}]}}\n", id_list, token_list);
    return 0;
  }
  fmt::print("{} tokens:", enc.ids.size());
  for (const int id : enc.ids) fmt::print(" {}", id);
  fmt::print("\n");
  for (std::size_t i = 0; i < enc.ids.size(); ++i)
    fmt::print("{:>7}  {:<20}  {}\n", enc.ids[i], tok::quote_bytes(enc.tokens[i]),
               tok::quote_bytes(tok.token_bytes(enc.ids[i])));
  return 0;
}

}  // namespace embedlab::cli
