// The differential tokenizer test: our ids against Hugging Face `tokenizers` (the oracle's ids, written
// by oracle.js encode) on every string, without and with special tokens.
//   tokenizer_differential NAME TOKENIZER_JSON EXPECTED_JSON [NAME TOKENIZER_JSON EXPECTED_JSON ...]
// Exit 0 when every id list matches; 1 with each mismatch printed (the string escaped, both lists).
#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

std::string escaped(const std::string& s) {
  // JSON escapes: every control character visible, the rest as UTF-8.
  return nlohmann::json(s).dump(-1, ' ', true);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || (argc - 1) % 3 != 0) {
    std::cerr << "usage: tokenizer_differential NAME TOKENIZER_JSON EXPECTED_JSON [...]\n";
    return 64;
  }
  int failures = 0;
  try {
    for (int a = 1; a + 2 < argc; a += 3) {
      const std::string name = argv[a], file = argv[a + 1], expected_file = argv[a + 2];
      const auto t0 = std::chrono::steady_clock::now();
      const auto tok = embedlab::tok::Tokenizer::from_file(file);
      const double load = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::ifstream in(expected_file);
      if (!in) throw embedlab::Error(embedlab::Exit::no_input, expected_file + ": cannot open the oracle's ids");
      const auto j = nlohmann::json::parse(in);
      const auto& strings = j.at("strings");
      std::size_t bad = 0, checked = 0;
      for (std::size_t i = 0; i < strings.size(); ++i) {
        const std::string s = strings[i].get<std::string>();
        for (const bool special : {false, true}) {
          const auto want = j.at(special ? "special" : "plain")[i].get<std::vector<int>>();
          const auto got = tok.encode_ids(s, special);
          ++checked;
          if (got == want) continue;
          if (++bad <= 12)
            fmt::print("MISMATCH {} [{}] {}:\n  string {}\n  ours   {}\n  oracle {}\n", name, i,
                       special ? "with special tokens" : "without special tokens", escaped(s), got, want);
        }
      }
      fmt::print("{}: {} of {} encodings equal the oracle's ({} strings, load {:.3f} s)\n", name, checked - bad,
                 checked, strings.size(), load);
      if (bad) ++failures;
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
