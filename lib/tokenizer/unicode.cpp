#include "tokenizer/unicode.hpp"

#include "core/error.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

namespace embedlab::tok::uni {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::size_t char_len(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const std::size_t left = s.size() - i;
  const unsigned c = b(0);
  if (c < 0x80) return 1;
  const auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates D800-DFFF
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

std::uint32_t next(std::string_view s, std::size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  const auto cb = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F);
  };
  std::uint32_t cp;
  if (c < 0xE0) {
    cp = ((c & 0x1Fu) << 6) | cb(1);
    i += 2;
  } else if (c < 0xF0) {
    cp = ((c & 0x0Fu) << 12) | (cb(1) << 6) | cb(2);
    i += 3;
  } else {
    cp = ((c & 0x07u) << 18) | (cb(1) << 12) | (cb(2) << 6) | cb(3);
    i += 4;
  }
  return cp;
}

std::size_t count_chars(std::string_view s) {
  std::size_t n = 0;
  for (const char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

bool is_whitespace(std::uint32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool is_alphanumeric_word(std::uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  const auto cp = static_cast<UChar32>(c);
  const auto mask = U_GET_GC_MASK(cp);
  return u_hasBinaryProperty(cp, UCHAR_ALPHABETIC) || (mask & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
         c == 0x200C || c == 0x200D;
}

namespace {

// HF's BERT components and Punctuation pre-tokenizer take categories from the `unicode_categories`
// crate, whose tables are Unicode 8.0: characters assigned later are "unassigned" there (verified
// against the oracle on every P*, C* and Mn character ICU knows).
bool assigned_by_unicode_8(std::uint32_t c) {
  UVersionInfo v;
  u_charAge(static_cast<UChar32>(c), v);
  return v[0] < 8 || (v[0] == 8 && v[1] == 0);
}

}  // namespace

bool is_punctuation(std::uint32_t c) {
  if (c < 0x80)
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK) != 0 && assigned_by_unicode_8(c);
}

bool is_numeric(std::uint32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
}

bool is_control_bert(std::uint32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK)) != 0 &&
         assigned_by_unicode_8(c);
}

bool is_mark(std::uint32_t c) { return c >= 0x300 && (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_M_MASK) != 0; }
bool is_nonspacing_mark(std::uint32_t c) {
  // Four characters became Mn after Unicode 8.0 (U+1885, U+1886 were Lo, U+A9BD Mc, U+111C9 Po).
  if (c == 0x1885 || c == 0x1886 || c == 0xA9BD || c == 0x111C9) return false;
  return c >= 0x300 && (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_MN_MASK) != 0 && assigned_by_unicode_8(c);
}

bool is_chinese_char(std::uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lowercase(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (c == 0x130) {  // the one unconditional multi-character lowercase mapping (SpecialCasing.txt)
    out += "i\xCC\x87";
    return;
  }
  append_utf8(out, static_cast<std::uint32_t>(u_tolower(static_cast<UChar32>(c))));
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) append_lowercase(out, next(s, i));
  return out;
}

std::string normalize(std::string_view s, Form form) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case Form::nfc:
      n = icu::Normalizer2::getNFCInstance(err);
      break;
    case Form::nfd:
      n = icu::Normalizer2::getNFDInstance(err);
      break;
    case Form::nfkc:
      n = icu::Normalizer2::getNFKCInstance(err);
      break;
    case Form::nfkd:
      n = icu::Normalizer2::getNFKDInstance(err);
      break;
  }
  if (U_FAILURE(err) || n == nullptr)
    throw Error(Exit::software, fmt::format("tokenizer: ICU normalizer unavailable ({})", u_errorName(err)));
  // ASCII is invariant under every form.
  bool ascii = true;
  for (const char ch : s)
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return std::string(s);
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  if (n->isNormalized(u, err) && U_SUCCESS(err)) return std::string(s);
  err = U_ZERO_ERROR;
  const icu::UnicodeString r = n->normalize(u, err);
  if (U_FAILURE(err))
    throw Error(Exit::software, fmt::format("tokenizer: ICU normalization failed ({})", u_errorName(err)));
  std::string out;
  r.toUTF8String(out);
  return out;
}

}  // namespace embedlab::tok::uni
