#include "model/corpus_states.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace embedlab::model {

CorpusStates corpus_states(const Gpt2& model, std::span<const std::vector<int>> sentences,
                           const std::vector<int>& layers, bool with_final) {
  CorpusStates r;
  r.layers = layers;
  std::sort(r.layers.begin(), r.layers.end());
  r.layers.erase(std::unique(r.layers.begin(), r.layers.end()), r.layers.end());
  for (int l : r.layers)
    if (l < 0 || l > model.n_layer())
      fail(Exit::usage, "hidden states", "layers",
           fmt::format("layer out of range (got {}, expected 0..{})", l, model.n_layer()));
  std::size_t n = 0, longest = 0;
  for (const auto& s : sentences) {
    model.check_ids(s);
    n += s.size();
    longest = std::max(longest, s.size());
  }
  const auto C = static_cast<arma::uword>(model.n_embd());
  r.hidden.assign(r.layers.size(), arma::fmat());
  for (auto& h : r.hidden) h.set_size(C, n);
  if (with_final) r.final_hidden.set_size(C, n);
  r.token.reserve(n);
  r.sentence.reserve(n);
  r.position.reserve(n);
  if (n == 0) return r;
  const std::size_t budget =
      std::min<std::size_t>(std::max<std::size_t>(longest, kPackTokens), static_cast<std::size_t>(model.n_positions()));
  Gpt2Session session(model, static_cast<int>(budget));
  StateSink sink;  // each kept layer's states written in place, at the batch's columns
  sink.layers.assign(static_cast<std::size_t>(model.n_layer()) + 1, nullptr);
  for (std::size_t k = 0; k < r.layers.size(); ++k) sink.layers[static_cast<std::size_t>(r.layers[k])] = &r.hidden[k];
  std::vector<int> batch, lengths;
  arma::uword col = 0;
  for (std::size_t s = 0; s < sentences.size();) {
    batch.clear();
    lengths.clear();
    for (; s < sentences.size() && batch.size() + sentences[s].size() <= budget; ++s) {
      const auto& ids = sentences[s];
      batch.insert(batch.end(), ids.begin(), ids.end());
      lengths.push_back(static_cast<int>(ids.size()));
      for (std::size_t t = 0; t < ids.size(); ++t) {
        r.token.push_back(ids[t]);
        r.sentence.push_back(static_cast<std::int64_t>(s));
        r.position.push_back(static_cast<std::int64_t>(t));
      }
    }
    sink.offset = col;
    session.feed_packed(batch, lengths, sink);
    const auto T = static_cast<arma::uword>(batch.size());
    if (with_final) r.final_hidden.cols(col, col + T - 1) = session.final_hidden();
    col += T;
  }
  return r;
}

}  // namespace embedlab::model
