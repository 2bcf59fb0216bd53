#include "io/word_lookup.hpp"

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "io/model_presets.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace embedlab::io {

namespace fs = std::filesystem;

const char* to_string(LookupStatus s) {
  switch (s) {
    case LookupStatus::ok:
      return "ok";
    case LookupStatus::multi_token:
      return "multi_token";
    case LookupStatus::dropped_multi_token:
      return "dropped_multi_token";
    case LookupStatus::skipped:
      return "skipped";
    case LookupStatus::not_in_vocabulary:
      return "not_in_vocabulary";
    case LookupStatus::excluded_row:
      return "excluded_row";
  }
  return "?";
}

WordLookup::WordLookup(const std::vector<std::string>& tokens, const std::optional<std::string>& tokenizer_dir)
    : tokens_(tokens) {
  for (arma::uword j = 0; j < tokens.size(); ++j)
    if (!tokens[j].empty()) index_.emplace(tokens[j], j);  // first occurrence wins
  if (tokenizer_dir) {
    tokenizer_ = Gpt2Tokenizer::shared_from_dir(*tokenizer_dir);
    if (tokens.empty()) {  // rows are token ids: name them by the vocabulary
      tokens_.resize(static_cast<std::size_t>(tokenizer_->vocab_size()));
      for (int id = 0; id < tokenizer_->vocab_size(); ++id) {
        tokens_[static_cast<std::size_t>(id)] = tokenizer_->token(id);
        index_.emplace(tokens_[static_cast<std::size_t>(id)], static_cast<arma::uword>(id));
      }
    }
  }
}

arma::vec WordLookup::mean_vector(const arma::fmat& vectors, const std::vector<arma::uword>& columns,
                                  const arma::vec* norms) {
  arma::vec acc(vectors.n_rows, arma::fill::zeros);
  for (const arma::uword c : columns) {
    const float* x = vectors.colptr(c);
    const double s = norms != nullptr ? (*norms)[c] : 1.0;
    for (arma::uword i = 0; i < vectors.n_rows; ++i) acc[i] += s * static_cast<double>(x[i]);
  }
  if (!columns.empty()) acc /= static_cast<double>(columns.size());
  return acc;
}

WordLookup::~WordLookup() = default;
WordLookup::WordLookup(WordLookup&&) noexcept = default;

std::optional<std::string> WordLookup::tokenizer_dir_for(const InputFile& source) {
  // Word-vector text and binary files name their rows by word: they never go through a tokenizer.
  if (source.format == "glove" || source.format == "word2vec" || source.format == "word2vec-bin") return std::nullopt;
  // Any other preset's matrix (source.path is its shard): the one decision of io/model_presets.
  if (source.format.starts_with("model")) {
    const std::string dir = fs::path(source.path).parent_path().string();
    const auto found = model_tokenizer_dir(dir);
    if (found && !source.shape.empty())
      check_tokenizer_rows(*Gpt2Tokenizer::shared_from_dir(*found), source.shape[0], dir);
    return found;
  }
  const fs::path p(source.path);
  std::error_code ec;
  const fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path();
  // Any model directory holding its own tokenizer (tokenizer.json, GPT-2's or BERT's files); the
  // search beside the checkpoint is GPT-2's only.
  if (source.format != "gpt2") {
    if (tok::tokenizer_files(dir.string()).empty()) return std::nullopt;
    return dir.string();
  }
  const auto found = find_gpt2_tokenizer_dir(dir.string());
  if (!found) return std::nullopt;
  // A tokenizer found beside the checkpoint must be the checkpoint's: as many tokens as rows.
  if (*found != dir.string() && !source.shape.empty() &&
      static_cast<std::uint64_t>(Gpt2Tokenizer::shared_from_dir(*found)->vocab_size()) != source.shape[0])
    return std::nullopt;
  return found;
}

std::vector<InputFile> WordLookup::tokenizer_files(const std::string& dir) {
  std::vector<InputFile> out;
  for (const auto& p : tok::tokenizer_files(dir)) {
    const std::string name = fs::path(p).filename().string();
    const char* format = name == "tokenizer.json"          ? "hf-tokenizer"
                         : name == "vocab.txt"             ? "wordpiece-vocab"
                         : name == "tokenizer_config.json" ? "hf-tokenizer-config"
                                                           : "gpt2-tokenizer";
    out.push_back(InputFile{p, format, "text", {fs::file_size(p)}, sha256_file(p)});
  }
  return out;
}

std::string WordLookup::display(arma::uword column) const {
  const std::string t = column < tokens_.size() ? tokens_[column] : std::string();
  if (t.empty()) return fmt::format("#{}", column);
  if (tokenizer_) {
    if (const auto id = tokenizer_->id(t)) {
      const std::string q = quote_bytes(tokenizer_->token_bytes(*id));  // 'bytes', escaped
      return q.substr(1, q.size() - 2);
    }
  }
  return t;
}

std::vector<WordColumns> WordLookup::resolve(const std::vector<std::string>& words, const LookupPolicy& policy,
                                             const std::string& source) const {
  std::vector<WordColumns> out;
  out.reserve(words.size());
  const bool skip = policy.word.oov == WordPolicy::Oov::skip;
  auto missing = [&](WordColumns& w, std::size_t k, LookupStatus status, const std::string& why) {
    if (!skip)
      data_error(source, fmt::format("word {} {}", k + 1, quote_bytes(w.word)),
                 why + " (oov = error; use oov = skip to drop it)");
    w.status = status;
    w.reason = why;
    w.columns.clear();
  };
  if (!tokenizer_) {
    for (std::size_t k = 0; k < words.size(); ++k) {
      WordColumns w;
      w.word = words[k];
      const auto it = index_.find(w.word);
      if (it == index_.end())
        missing(w, k, LookupStatus::not_in_vocabulary, "not in the vocabulary");
      else
        w.columns = {it->second};
      out.push_back(std::move(w));
    }
    return out;
  }
  WordPolicy wp = policy.word;
  if (policy.drop_multi_token) wp.multi_token = WordPolicy::MultiToken::mean;  // pieces are needed for the reason
  const auto toks = words_to_tokens(*tokenizer_, words, wp, source);
  for (std::size_t k = 0; k < toks.size(); ++k) {
    const auto& t = toks[k];
    WordColumns w;
    w.word = t.word;
    w.token_ids = t.pieces;
    if (t.status == WordStatus::skipped) {
      w.status = LookupStatus::skipped;
      w.reason = "empty, invalid UTF-8, no tokens or the unknown token: out of vocabulary";
      out.push_back(std::move(w));
      continue;
    }
    if (t.status == WordStatus::multi_token) {
      if (policy.drop_multi_token) {
        std::string pieces;
        for (const int id : t.pieces) {
          if (!pieces.empty()) pieces += ' ';
          pieces += quote_bytes(tokenizer_->token_bytes(id));
        }
        w.status = LookupStatus::dropped_multi_token;
        w.reason = fmt::format("{} tokens: {}", t.pieces.size(), pieces);
        out.push_back(std::move(w));
        continue;
      }
      w.status = LookupStatus::multi_token;
    }
    for (const int id : t.ids) {
      const auto it = index_.find(tokenizer_->token(id));
      if (it == index_.end()) {
        missing(
            w, k, LookupStatus::excluded_row,
            fmt::format("token {} ({}) has no row in the loaded matrix", id, quote_bytes(tokenizer_->token_bytes(id))));
        break;
      }
      w.columns.push_back(it->second);
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace embedlab::io
