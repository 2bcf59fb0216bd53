#pragma once
// A tokenizer.json given as text (fuzzing, tests): read through an anonymous in-memory file, with
// `name` standing for the file in error messages.
#include "tokenizer/tokenizer.hpp"

#include <string>
#include <string_view>

namespace embedlab::tok {

Tokenizer tokenizer_from_json_text(std::string_view text, const std::string& name);

}  // namespace embedlab::tok
