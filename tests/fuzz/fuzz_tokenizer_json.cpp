// libFuzzer target: the tokenizer.json reader on hostile input (broken JSON, unknown component types,
// huge or inconsistent vocabularies, merges naming missing tokens, invalid or catastrophic regexes).
// Every input either loads, and then encodes and decodes a fixed text, or ends in one embedlab::Error.
#include "fuzz_main.hpp"
#include "tokenizer/from_text.hpp"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embedlab::fuzz::guarded([&] {
    const auto tok = embedlab::tok::tokenizer_from_json_text(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    for (const bool special : {false, true}) {
      const auto ids = tok.encode_ids("Hello, world! <s> [CLS] caf\xC3\xA9 \xF0\x9F\x98\x80 12345 \xFF\n", special);
      (void)tok.decode(ids);
    }
  });
}
