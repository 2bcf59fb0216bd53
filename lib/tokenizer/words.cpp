#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode.hpp"

namespace embedlab::tok {

std::string quote_bytes(std::string_view s) {
  std::string out = "'";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = uni::char_len(s, i);
    if (len > 1) {
      out.append(s.substr(i, len));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (len == 0 || c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
    i += len > 0 ? len : 1;
  }
  return out + "'";
}

// --- words → token ids -------------------------------------------------------------------------

std::vector<WordTokens> words_to_tokens(const Tokenizer& tokenizer, const std::vector<std::string>& words,
                                        const WordPolicy& policy, const std::string& source) {
  std::vector<WordTokens> out;
  out.reserve(words.size());
  for (std::size_t w = 0; w < words.size(); ++w) {
    WordTokens r;
    r.word = words[w];
    const std::string where = fmt::format("word {} {}", w + 1, quote_bytes(r.word));
    const bool blank = r.word.find_first_not_of(" \t\n\r\f\v") == std::string::npos;
    const auto bad = invalid_utf8_offset(r.word);
    if (blank || bad != std::string_view::npos) {
      if (policy.oov == WordPolicy::Oov::error)
        data_error(source, where,
                   blank ? "empty word has no tokens (oov = error; use oov = skip to drop it)"
                         : fmt::format("not valid UTF-8 at byte {} (oov = error; use oov = skip to drop it)", bad));
      r.status = WordStatus::skipped;
      out.push_back(std::move(r));
      continue;
    }
    // Words are text, never control tokens: "<|endoftext|>" in a word list is just characters.
    r.pieces = tokenizer.word_ids(r.word, policy.leading_space);
    // Words are encoded with added tokens unparsed, so a special piece is the model's unknown token
    // ([UNK] of WordPiece, <unk> of a BPE without byte fallback): the word is out of vocabulary.
    std::string unknown;
    for (const int id : r.pieces)
      if (tokenizer.is_special(id)) unknown = tokenizer.token(id);
    if (!unknown.empty()) {
      if (policy.oov == WordPolicy::Oov::error)
        data_error(source, where,
                   fmt::format("is out of vocabulary (encodes to {}; oov = error; use oov = skip to drop it)",
                               quote_bytes(unknown)));
      r.pieces.clear();
      r.status = WordStatus::skipped;
      out.push_back(std::move(r));
      continue;
    }
    if (r.pieces.empty()) {  // e.g. only characters the normalizer removes
      if (policy.oov == WordPolicy::Oov::error)
        data_error(source, where, "has no tokens (oov = error; use oov = skip to drop it)");
      r.status = WordStatus::skipped;
      out.push_back(std::move(r));
      continue;
    }
    if (r.pieces.size() == 1) {
      r.ids = r.pieces;
    } else {
      r.status = WordStatus::multi_token;
      switch (policy.multi_token) {
        case WordPolicy::MultiToken::error: {
          std::string pieces;
          for (const int id : r.pieces)
            pieces += fmt::format("{}{} ({})", pieces.empty() ? "" : " ", quote_bytes(tokenizer.token_bytes(id)), id);
          data_error(
              source, where,
              fmt::format("is {} tokens: {} (multi_token = error; use mean, first or last)", r.pieces.size(), pieces));
        }
        case WordPolicy::MultiToken::mean:
          r.ids = r.pieces;
          break;
        case WordPolicy::MultiToken::first:
          r.ids = {r.pieces.front()};
          break;
        case WordPolicy::MultiToken::last:
          r.ids = {r.pieces.back()};
          break;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<WordPolicy::MultiToken> parse_multi_token(std::string_view name) {
  using M = WordPolicy::MultiToken;
  for (const M m : {M::error, M::mean, M::first, M::last})
    if (name == to_string(m)) return m;
  return std::nullopt;
}

std::optional<WordPolicy::Oov> parse_oov(std::string_view name) {
  using O = WordPolicy::Oov;
  for (const O o : {O::error, O::skip})
    if (name == to_string(o)) return o;
  return std::nullopt;
}

const char* to_string(WordPolicy::MultiToken m) {
  switch (m) {
    case WordPolicy::MultiToken::error:
      return "error";
    case WordPolicy::MultiToken::mean:
      return "mean";
    case WordPolicy::MultiToken::first:
      return "first";
    case WordPolicy::MultiToken::last:
      return "last";
  }
  return "?";
}

const char* to_string(WordPolicy::Oov o) { return o == WordPolicy::Oov::error ? "error" : "skip"; }

const char* to_string(WordStatus s) {
  switch (s) {
    case WordStatus::ok:
      return "ok";
    case WordStatus::multi_token:
      return "multi_token";
    case WordStatus::skipped:
      return "skipped";
  }
  return "?";
}

}  // namespace embedlab::tok
