#pragma once
// A sentence corpus: a text file with one sentence per line (blank lines skipped), encoded with the
// GPT-2 tokenizer, or (format ids) one sentence per line as space-separated token ids, for models
// without a tokenizer. Sentences longer than max_tokens are an error naming the line unless
// truncate (then cut to max_tokens, counted).
#include "core/provenance.hpp"
#include "tokenizer/tokenizer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace embedlab::io {

struct CorpusSentence {
  std::int64_t line = 0;  // 1-based line of the file
  std::vector<int> ids;
};

struct Corpus {
  std::vector<CorpusSentence> sentences;
  std::size_t truncated = 0;  // sentences cut to max_tokens
  std::size_t tokens = 0;     // after truncation
  InputFile source;           // path, format "corpus-text" / "corpus-ids", sha256 of the whole file
};

enum class CorpusFormat { text, ids };

// tokenizer is needed for CorpusFormat::text (nullptr otherwise). vocab_size bounds the ids of the
// ids format. A line that encodes to no tokens is skipped like a blank line. An empty corpus is an
// error.
Corpus read_corpus(const std::string& path, CorpusFormat format, const Gpt2Tokenizer* tokenizer, int max_tokens,
                   bool truncate, int vocab_size);

// The sentences of a text given inline (one per line), with the same rules; source.path = where.
Corpus corpus_from_text(const std::string& text, const std::string& where, CorpusFormat format,
                        const Gpt2Tokenizer* tokenizer, int max_tokens, bool truncate, int vocab_size);

}  // namespace embedlab::io
