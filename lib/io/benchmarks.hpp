#pragma once
// Word-benchmark files: word-pair similarity judgements (WordSim-353, SimLex-999) and the word2vec
// analogy questions (questions-words.txt). Parsing only; scoring is linalg/wordbench.hpp.
//
// Pair files: `word1<TAB>word2<TAB>score` a line, lines starting with '#' are comments, blank lines
// are skipped. Words are taken verbatim (gensim's evaluate_word_pairs splits on the delimiter and
// does not strip them); the score may carry surrounding blanks, as Python's float() accepts.
//
// Analogy files: `: section name` headers, then `a b c d` (whitespace-separated) lines; blank lines
// are skipped. A section's name is the header with leading ':' and ' ' characters and trailing
// whitespace removed (gensim: `line.lstrip(': ').strip()`).
//
// Where gensim only logs and skips a malformed line, these readers refuse the file with a one-line
// Error(data) `file: line N: what (got X)`: a benchmark that silently loses lines is not the
// benchmark. Lines end with "\n" or "\r\n"; invalid UTF-8 is refused. Missing file: Error(no_input).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::io {

struct WordPairSet {
  std::string path;
  std::vector<std::string> a, b;    // (m) the words of each pair, in file order
  std::vector<double> score;        // (m) human judgement
  std::vector<std::uint64_t> line;  // (m) 1-based line number of each pair
  std::size_t size() const { return score.size(); }
};

struct AnalogySection {
  std::string name;
  std::size_t begin = 0, end = 0;  // questions [begin, end) of AnalogySet::questions
  std::uint64_t line = 0;          // 1-based line of the header
};

struct AnalogySet {
  std::string path;
  std::vector<std::array<std::string, 4>> questions;  // (q) a b c d: a is to b as c is to d
  std::vector<std::uint64_t> line;                    // (q) 1-based line number of each question
  std::vector<AnalogySection> sections;               // in file order; may be empty sections
};

// `delimiter` separates the three fields (gensim's default is TAB).
WordPairSet read_word_pairs(const std::string& path, char delimiter = '\t');
AnalogySet read_analogies(const std::string& path);

// The same from text already in memory; `name` stands for the file in messages.
WordPairSet parse_word_pairs(std::string_view text, const std::string& name, char delimiter = '\t');
AnalogySet parse_analogies(std::string_view text, const std::string& name);

}  // namespace embedlab::io
