#include "io/corpus.hpp"

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/binary_util.hpp"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace embedlab::io {

namespace {

std::vector<int> parse_id_line(const std::string& line, const std::string& where, std::int64_t lineno, int vocab_size) {
  std::vector<int> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) {
    int v = 0;
    const auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (ec != std::errc() || p != w.data() + w.size() || v < 0 || v >= vocab_size)
      data_error(where, fmt::format("line {}", lineno),
                 fmt::format("not a token id (got '{}', expected an integer 0..{})", w, vocab_size - 1));
    out.push_back(v);
  }
  return out;
}

}  // namespace

Corpus corpus_from_text(const std::string& text, const std::string& where, CorpusFormat format,
                        const Gpt2Tokenizer* tokenizer, int max_tokens, bool truncate, int vocab_size) {
  if (format == CorpusFormat::text && tokenizer == nullptr)
    fail(Exit::config, where, "corpus", "a text corpus needs a GPT-2 tokenizer");
  Corpus c;
  c.source.path = where;
  c.source.format = format == CorpusFormat::text ? "corpus-text" : "corpus-ids";
  c.source.dtype = "utf-8";
  c.source.sha256 = sha256_hex(text);
  std::istringstream in(text);
  std::string line;
  std::int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (const auto bad = invalid_utf8_offset(line); bad != std::string::npos)
      data_error(where, fmt::format("line {}", lineno), fmt::format("invalid UTF-8 at byte {}", bad));
    CorpusSentence s{lineno, format == CorpusFormat::text ? tokenizer->encode_gpt2(line, false)
                                                          : parse_id_line(line, where, lineno, vocab_size)};
    if (s.ids.empty()) continue;
    if (static_cast<int>(s.ids.size()) > max_tokens) {
      if (!truncate)
        data_error(where, fmt::format("line {}", lineno),
                   fmt::format("sentence longer than the model's context (got {} tokens, expected ≤ {}) [hint: "
                               "corpus.truncate = true cuts it]",
                               s.ids.size(), max_tokens));
      s.ids.resize(static_cast<std::size_t>(max_tokens));
      ++c.truncated;
    }
    c.tokens += s.ids.size();
    c.sentences.push_back(std::move(s));
  }
  if (c.sentences.empty()) data_error(where, "corpus", "no sentences (every line is blank)");
  c.source.shape = {c.sentences.size(), c.tokens};
  return c;
}

Corpus read_corpus(const std::string& path, CorpusFormat format, const Gpt2Tokenizer* tokenizer, int max_tokens,
                   bool truncate, int vocab_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(Exit::no_input, path, "corpus", "cannot open the corpus file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return corpus_from_text(ss.str(), path, format, tokenizer, max_tokens, truncate, vocab_size);
}

}  // namespace embedlab::io
