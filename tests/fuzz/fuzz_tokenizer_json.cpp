// libFuzzer target: the tokenizer.json reader on hostile input (broken JSON, unknown component types,
// huge or inconsistent vocabularies, merges naming missing tokens, invalid or catastrophic regexes).
// Every input either loads, and then encodes and decodes a fixed text, or ends in one embedlab::Error.
// The fast JSON reader (simdjson, falling back on the exact one) must give exactly what the exact
// reader (nlohmann) gives: the same DOM, vocabulary, merges and repeated-key flag, or the same error.
#include "fuzz_main.hpp"
#include "tokenizer/from_text.hpp"
#include "tokenizer/tokenizer_json.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void readers_agree(std::string_view text) {
  using namespace embedlab::tok;
  std::string padded(text);
  padded.reserve(text.size() + tokenizer_json_padding());
  TokenizerJson fast, exact;
  std::string fast_error, exact_error;
  try {
    fast = read_tokenizer_json(padded, padded.capacity(), "fuzz.json");
  } catch (const embedlab::Error& e) {
    fast_error = e.what();
  }
  try {
    exact = read_tokenizer_json_exact(text, "fuzz.json");
  } catch (const embedlab::Error& e) {
    exact_error = e.what();
  }
  if (fast_error != exact_error || fast.root != exact.root || fast.repeated_key != exact.repeated_key ||
      fast.tables.has_vocab != exact.tables.has_vocab || fast.tables.has_merges != exact.tables.has_merges ||
      fast.tables.vocab != exact.tables.vocab || fast.tables.merges != exact.tables.merges) {
    std::fprintf(stderr, "BUG: the fast tokenizer.json reader differs from the exact one (errors: '%s' vs '%s')\n",
                 fast_error.c_str(), exact_error.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  readers_agree(text);
  return embedlab::fuzz::guarded([&] {
    const auto tok = embedlab::tok::tokenizer_from_json_text(text, "fuzz.json");
    for (const bool special : {false, true}) {
      const auto ids = tok.encode_ids("Hello, world! <s> [CLS] caf\xC3\xA9 \xF0\x9F\x98\x80 12345 \xFF\n", special);
      (void)tok.decode(ids);
    }
  });
}
