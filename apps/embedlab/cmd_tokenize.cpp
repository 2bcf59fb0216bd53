// embedlab tokenize [--json] [--tokenizer DIR] [--no-special] TEXT
#include "apps/embedlab/command_line.hpp"
#include "apps/embedlab/commands.hpp"
#include "core/error.hpp"
#include "io/tokenizer.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>

namespace embedlab::cli {

namespace {

constexpr const char* kDefaultTokenizerDir = "data/gpt2";

std::string json_string(const std::string& s) {
  // A token can be part of a multi-byte character; such bytes become U+FFFD, as HF's decode does.
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")("json", "print {\"ids\": [...], \"tokens\": [...]}")(
      "tokenizer", po::value<std::string>(),
      "directory with vocab.json + merges.txt or encoder.json + vocab.bpe (default: data/gpt2)")(
      "no-special", "treat <|endoftext|> in TEXT as plain text");
  const auto parsed = parse_command(argc, argv, "tokenize", opts, "text",
                                    "usage: embedlab tokenize [--json] [--tokenizer DIR] [--no-special] TEXT\n"
                                    "GPT-2 token ids and pieces of TEXT (TEXT '-' reads standard input).\n\n");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("text")) throw Error(Exit::usage, "tokenize: missing TEXT (see embedlab tokenize --help)");
  std::string text = vm["text"].as<std::string>();
  if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());

  std::string dir;
  if (vm.count("tokenizer")) {
    dir = vm["tokenizer"].as<std::string>();
  } else if (std::filesystem::is_directory(kDefaultTokenizerDir)) {
    dir = kDefaultTokenizerDir;
  } else {
    fail(Exit::no_input, kDefaultTokenizerDir, "",
         "no GPT-2 tokenizer here [hint: run `embedlab fetch gpt2-tokenizer`, or pass --tokenizer DIR]");
  }
  const auto tok = io::Gpt2Tokenizer::from_dir(dir);
  const auto ids = tok.encode(text, !vm.count("no-special"));

  if (vm.count("json")) {
    std::string id_list, token_list;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const char* sep = i == 0 ? "" : ", ";
      id_list += fmt::format("{}{}", sep, ids[i]);
      token_list += sep + json_string(tok.token_bytes(ids[i]));
    }
    fmt::print("{{\"ids\": [{}], \"tokens\": [{}]}}\n", id_list, token_list);
    return 0;
  }
  fmt::print("{} tokens:", ids.size());
  for (const int id : ids) fmt::print(" {}", id);
  fmt::print("\n");
  for (const int id : ids) fmt::print("{:>7}  {}\n", id, io::quote_bytes(tok.token_bytes(id)));
  return 0;
}

}  // namespace embedlab::cli
