#pragma once
// UTF-8 and the Unicode character classes the components use (ICU underneath), each named after the
// Rust predicate the `tokenizers` library calls. Validation of whole strings: core/utf8.hpp.
#include "core/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace embedlab::tok::uni {

void append_utf8(std::string& out, std::uint32_t cp);
// Length of the valid UTF-8 character at s[i..] (1-4), or 0 when the bytes there are not one
// (truncated, stray continuation byte, overlong, surrogate, above U+10FFFF).
std::size_t char_len(std::string_view s, std::size_t i);
// Decodes the (valid) character at s[i], advancing i.
std::uint32_t next(std::string_view s, std::size_t& i);
std::size_t count_chars(std::string_view s);

bool is_whitespace(std::uint32_t c);         // char::is_whitespace (White_Space)
bool is_alphanumeric_word(std::uint32_t c);  // regex crate \w: Alphabetic, M, Nd, Pc, Join_Control
bool is_punctuation(std::uint32_t c);        // is_ascii_punctuation || unicode P*
bool is_numeric(std::uint32_t c);            // char::is_numeric: Nd, Nl, No
bool is_control_bert(std::uint32_t c);       // BertNormalizer: C* other than \t \n \r
bool is_mark(std::uint32_t c);               // M* (StripAccents)
bool is_nonspacing_mark(std::uint32_t c);    // Mn (BertNormalizer strip_accents)
bool is_chinese_char(std::uint32_t c);       // BERT's CJK ranges
// char::to_lowercase (full mapping: U+0130 → "i̇").
void append_lowercase(std::string& out, std::uint32_t c);
std::string lowercase(std::string_view s);

enum class Form { nfc, nfd, nfkc, nfkd };
std::string normalize(std::string_view s, Form form);

}  // namespace embedlab::tok::uni
