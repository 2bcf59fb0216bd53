#pragma once
// Reading tokenizer.json: the file's JSON with model.vocab and model.merges taken out into
// ModelTables (Llama-3's 128k tokens and 280k merges are far cheaper as vectors than as JSON values;
// the DOM then holds them empty), everything else as an nlohmann DOM for the component factories.
// Internal to lib/tokenizer.
//
// Two readers give the same result. The exact one is nlohmann's SAX parser (strict syntax, strict
// UTF-8, a repeated key keeping its last value as serde's maps do); its messages are the file's
// errors. The fast one is simdjson's On-Demand parser: it reads the vocabulary and the merges itself
// and hands each other value's own JSON text to nlohmann (so the component code and its messages do
// not change). Whatever it does not take in its stride — any syntax error, invalid UTF-8, a vocabulary
// id that is not an int64, a merge that is neither "a b" nor ["a", "b"], "model", "vocab" or
// "merges" given twice — makes it give up, and the exact reader runs instead: odd files get exactly
// the old behaviour and messages.
#include "tokenizer/components.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace embedlab::tok {

struct TokenizerJson {
  nlohmann::json root;  // the document, model.vocab / model.merges left empty when captured
  ModelTables tables;
  bool fast = false;  // read by the fast reader (false: the exact one ran)
  // Some object outside model.vocab named a key twice (its last value kept, as serde's maps do;
  // repeated tokens in model.vocab are the vocabulary reader's to see).
  bool repeated_key = false;
};

// The padding the fast reader wants readable past the end of the text (simdjson's).
std::size_t tokenizer_json_padding();

// Fast reader, falling back on the exact one. `capacity` is how many bytes at text.data() may be
// read (text.size() + tokenizer_json_padding() or more lets the fast reader run without copying).
TokenizerJson read_tokenizer_json(std::string_view text, std::size_t capacity, const std::string& file);
// Only the exact reader (tests compare the two).
TokenizerJson read_tokenizer_json_exact(std::string_view text, const std::string& file);

}  // namespace embedlab::tok
