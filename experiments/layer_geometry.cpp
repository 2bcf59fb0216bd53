// layer_geometry: the geometry of GPT-2's contextual hidden states layer by layer (Ethayarajh 2019,
// "How contextual are contextualized word representations?"): anisotropy, self-similarity,
// intra-sentence similarity and maximum explainable variance per layer, the trajectory of a token
// through the layers (norm, cosine to the next layer, path length, IsoScore, rogue dimensions) and
// the layer × layer linear CKA. Layer 0 = wte + wpe, layer l = the residual stream after block l.
//
// Memory: the corpus runs sentence by sentence through one reused session; each layer's states are
// one C × N float matrix held once (model::corpus_states); every measure reads them in place.
#include "core/error.hpp"
#include "core/threads.hpp"
#include "experiments/experiments.hpp"
#include "experiments/gpt2_prompts.hpp"
#include "geometry/layer_measures.hpp"
#include "io/corpus.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/word_lookup.hpp"
#include "model/corpus_states.hpp"
#include "model/gpt2.hpp"
#include "report/report.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

// The [model] keys and their loading are gpt2_prompts' (this experiment has no prompts).
struct Config : gpt2_prompts::Keys {
  std::string corpus_path, corpus_format, multi_token;
  bool truncate = false;
  std::int64_t min_occurrences = 5, pairs = 100000, cka_tokens = 4096;
};

void declare(Schema<Config>& s) {
  gpt2_prompts::declare_model(s);
  s.path("corpus.path", &Config::corpus_path, "corpora/sample.txt",
         "sentence corpus: one sentence per line (blank lines skipped)")
      .input();
  s.key("corpus.format", &Config::corpus_format, "text",
        "text (encoded with the tokenizer) or ids (space-separated token ids per line, for models without one)")
      .one_of({"text", "ids"});
  s.key("corpus.truncate", &Config::truncate, "false",
        "cut sentences longer than n_positions (false: such a sentence is an error naming its line)");
  s.key("tokens.multi_token", &Config::multi_token, "last",
        "a word (the tokens from one starting with whitespace, or a sentence's first, to the next) of several "
        "tokens is represented, in self-similarity and MEV, by its last or first token's state, the mean of its "
        "tokens' states, or dropped; without a tokenizer (corpus.format = ids and none found) every token is a word")
      .one_of({"last", "first", "mean", "drop"});
  s.key("measures.min_occurrences", &Config::min_occurrences, "5",
        "self-similarity and MEV use the words (see tokens.multi_token) occurring in at least this many different "
        "sentences")
      .range(2, 1000000);
  s.key("measures.pairs", &Config::pairs, "100000",
        "occurrence pairs from different sentences drawn (seeded) for the anisotropy")
      .range(16, 1000000000);
  s.key("measures.cka_tokens", &Config::cka_tokens, "4096",
        "occurrences drawn (seeded, without replacement) for the layer x layer linear CKA, whose exact cost over "
        "N occurrences is min((L+1) N^2 n_embd, (L+1)(L+2) N n_embd^2) FLOPs; 0 (or at least the corpus's tokens) = "
        "all occurrences, exact")
      .range(0, 1000000000);
}

std::vector<double> as_std(const arma::vec& v) { return {v.begin(), v.end()}; }

// Words of the corpus for self-similarity and MEV: a word starts at a sentence's first token or at a
// token whose bytes start with whitespace (GPT-2's " word" form) and runs to the next start. Each
// occurrence of a word keeps the columns of its tokens; its key indexes `tokens` (distinct id
// sequences). Without a tokenizer every token is a word (its key the token id, no columns kept).
struct Words {
  std::vector<std::vector<int>> tokens;  // per key: the word's token ids
  geometry::WordOccurrences occurrences;
  std::size_t multi_token_words = 0, multi_token_occurrences = 0;
};

geometry::Pooling pooling(const std::string& policy) {
  return policy == "first"  ? geometry::Pooling::first
         : policy == "mean" ? geometry::Pooling::mean
                            : geometry::Pooling::last;
}

Words segment_words(const model::CorpusStates& st, const io::Gpt2Tokenizer* tok, const std::string& policy) {
  Words w;
  auto& occ = w.occurrences;
  occ.pooling = pooling(policy);
  const std::size_t N = st.token.size();
  if (!tok) {
    occ.key = st.token;
    occ.sentence = st.sentence;
    std::map<std::int64_t, std::int64_t> seen;
    for (auto& k : occ.key) {
      auto [it, fresh] = seen.emplace(k, static_cast<std::int64_t>(w.tokens.size()));
      if (fresh) w.tokens.push_back({static_cast<int>(k)});
      k = it->second;
    }
    return w;
  }
  std::map<std::vector<int>, std::int64_t> index;
  std::set<std::vector<int>> multi;
  auto starts = [&](std::size_t j) {
    if (j == 0 || st.sentence[j] != st.sentence[j - 1]) return true;
    const std::string& b = tok->token_bytes(static_cast<int>(st.token[j]));
    return !b.empty() && std::isspace(static_cast<unsigned char>(b[0]));
  };
  for (std::size_t j = 0; j < N;) {
    std::size_t e = j + 1;
    while (e < N && !starts(e)) ++e;
    std::vector<int> ids;
    std::vector<arma::uword> cols;
    for (std::size_t t = j; t < e; ++t) {
      ids.push_back(static_cast<int>(st.token[t]));
      cols.push_back(static_cast<arma::uword>(t));
    }
    const bool several = ids.size() > 1;
    if (!(several && policy == "drop")) {
      auto [it, fresh] = index.emplace(ids, static_cast<std::int64_t>(w.tokens.size()));
      if (fresh) w.tokens.push_back(ids);
      occ.key.push_back(it->second);
      occ.sentence.push_back(st.sentence[j]);
      occ.columns.push_back(std::move(cols));
    }
    if (several) {
      ++w.multi_token_occurrences;
      multi.insert(ids);
    }
    j = e;
  }
  w.multi_token_words = multi.size();
  return w;
}

// The weights, and the states of every layer held once: (L+1) × tokens × C float32, with the
// corpus's byte count as the bound on its tokens (a GPT-2 token is at least one byte).
void memory(const Config& c, const experiment::Shapes&, std::vector<experiment::Allocation>& out) {
  namespace fs = std::filesystem;
  gpt2_prompts::model_memory(c, 0, out);
  std::error_code ec;
  const auto bytes = fs::file_size(c.corpus_path, ec);
  if (ec || c.model_path.empty() || !fs::exists(fs::path(c.model_path) / "config.json")) return;
  const auto cfg = io::read_gpt2_config((fs::path(c.model_path) / "config.json").string());
  const double tokens = c.corpus_format == "ids" ? static_cast<double>(bytes) / 2 : static_cast<double>(bytes);
  out.push_back(
      {4.0 * (cfg.n_layer + 1) * tokens * cfg.n_embd,
       fmt::format("hidden states of {} layers for at most {:.0f} corpus tokens, float32", cfg.n_layer + 1, tokens),
       "corpus.path", "use a shorter corpus"});
  // The layer × layer CKA over k occurrences (read in place): on the path through the occurrence
  // Grams (k < (L+1)·C), each layer's k columns centred once.
  const double layers = cfg.n_layer + 1.0, C = cfg.n_embd;
  const double k = c.cka_tokens == 0 ? tokens : std::min(tokens, static_cast<double>(c.cka_tokens));
  if (k < layers * C)
    out.push_back(
        {4.0 * layers * k * C,
         fmt::format("layer x layer CKA: the centred copy of {} layers x {:.0f} occurrences, float32", layers, k),
         "measures.cka_tokens"});
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  const bool text = c.corpus_format == "text";
  const auto loaded = gpt2_prompts::load_model(c, ctx, text ? "corpus.format" : "", "corpus.format = ids");
  const model::Gpt2& m = *loaded.model;
  const io::Gpt2Tokenizer* tok = loaded.tokenizer ? &*loaded.tokenizer : nullptr;
  const auto corpus = io::read_corpus(c.corpus_path, text ? io::CorpusFormat::text : io::CorpusFormat::ids, tok,
                                      m.n_positions(), c.truncate, m.vocab_size());
  ctx.inputs->push_back(corpus.source);
  if (corpus.sentences.size() < 2)
    data_error(c.corpus_path, "corpus", fmt::format("needs at least 2 sentences (got {})", corpus.sentences.size()));

  std::vector<std::vector<int>> ids;
  std::vector<std::int64_t> lines;
  for (const auto& s : corpus.sentences) {
    ids.push_back(s.ids);
    lines.push_back(s.line);
  }
  const int L = m.n_layer();
  std::vector<int> all_layers;
  for (int l = 0; l <= L; ++l) all_layers.push_back(l);
  const auto st = model::corpus_states(m, ids, all_layers, false);
  const auto N = static_cast<arma::uword>(st.token.size());
  const auto C = static_cast<arma::uword>(m.n_embd());
  const std::size_t n_states = static_cast<std::size_t>(L) + 1;

  const Words words = segment_words(st, tok, c.multi_token);
  geometry::LayerMeasureOptions mo;
  mo.pairs = static_cast<std::size_t>(c.pairs);
  mo.cka_tokens = static_cast<std::size_t>(c.cka_tokens);
  mo.min_occurrences = static_cast<std::size_t>(c.min_occurrences);
  mo.workers = ctx.threads;
  const geometry::LayerMeasures r = geometry::measure_layers(st.hidden, st.sentence, words.occurrences, mo, ctx.rng);
  const auto& pairs = r.pairs;
  const auto& groups = r.groups;
  const std::size_t W = groups.word.size();
  const arma::vec &aniso = r.anisotropy, &aniso_se = r.anisotropy_se, &self = r.self_similarity,
                  &intra = r.intra_sentence, &mev = r.mev, &norm = r.mean_norm, &iso = r.isoscore,
                  &rogue_share = r.rogue_share, &next_cos = r.next_layer_cosine, &path = r.path_length;
  const auto& rogue_dim = r.rogue_dimension;
  const arma::mat& cka = r.cka;
  const auto& cka_cols = r.cka_columns;
  const bool cka_all = cka_cols.size() == N;

  // ---- results ----
  auto& h5 = *ctx.h5;
  h5.write("/layers/layer", std::vector<std::int64_t>(all_layers.begin(), all_layers.end()),
           {"layer", "layer index: 0 = wte + wpe, l = residual stream after block l"});
  h5.write("/layers/anisotropy", aniso, {"cosine", "mean cos of sampled occurrence pairs from different sentences"});
  h5.write("/layers/anisotropy_se", aniso_se, {"cosine", "standard error of the anisotropy (sd / sqrt(pairs))"});
  h5.write("/layers/self_similarity", self, {"cosine", "mean over words of the mean cos across their contexts"});
  h5.write("/layers/self_similarity_adjusted", arma::vec(self - aniso), {"cosine", "self_similarity minus anisotropy"});
  h5.write("/layers/intra_sentence", intra,
           {"cosine", "mean over sentences (≥ 2 tokens) of the mean cos of a token with the sentence's mean state"});
  h5.write("/layers/intra_sentence_adjusted", arma::vec(intra - aniso), {"cosine", "intra_sentence minus anisotropy"});
  h5.write("/layers/mev", mev, {"1", "mean over words of sigma_1^2 / sum sigma_i^2 of the occurrences x C matrix"});
  h5.write("/layers/mean_norm", norm, {"1", "mean Euclidean norm of the states"});
  h5.write("/layers/next_layer_cosine", next_cos,
           {"cosine", "(L,) mean cos(h_l, h_{l+1}) of the same token, l = 0..L-1"});
  h5.write("/layers/isoscore", iso, {"1", "IsoScore of the layer's states (NaN when tokens < n_embd)"});
  h5.write("/layers/rogue_dimension", rogue_dim,
           {"dimension", "dimension with the largest contribution to the anisotropy"});
  h5.write("/layers/rogue_share", rogue_share,
           {"1", "that dimension's share of the anisotropy, mean(u_i v_i) / mean cos (Timkey & van Schijndel 2021)"});
  h5.write("/layers/layer_similarity", cka,
           {"1", "(L+1, L+1) linear CKA between layers over the occurrences /cka_occurrences (measures.cka_tokens)"});
  h5.write("/cka_occurrences", std::vector<std::int64_t>(cka_cols.begin(), cka_cols.end()),
           {"index", "occurrences (corpus order) the layer x layer CKA is computed over; all when cka_tokens = 0"});
  h5.attr("/layers", "cka_tokens", c.cka_tokens);
  h5.write("/layers/self_similarity_per_word", r.self_per_word,
           {"cosine", "(L+1, words) self-similarity of each word"});
  h5.write("/layers/mev_per_word", r.mev_per_word, {"1", "(L+1, words) maximum explainable variance of each word"});
  h5.write("/layers/intra_sentence_per_sentence", r.intra_per_sentence,
           {"cosine", "(L+1, sentences) intra-sentence similarity (NaN for a 1-token sentence)"});
  std::vector<std::int64_t> word_token, word_pieces;
  std::vector<std::string> word_text;
  for (const auto w : groups.word) {
    const auto& ids_w = words.tokens[static_cast<std::size_t>(w)];
    word_token.push_back(ids_w[c.multi_token == "first" ? 0 : ids_w.size() - 1]);
    word_pieces.push_back(static_cast<std::int64_t>(ids_w.size()));
    word_text.push_back(tok ? tok->decode(std::vector<int>(ids_w.begin(), ids_w.end())) : std::to_string(ids_w[0]));
  }
  h5.write("/words/token_id", word_token,
           {"token id", "the words of self_similarity and mev: the token standing for each (tokens.multi_token)"});
  h5.write("/words/tokens", word_pieces, {"count", "tokens of each word"});
  h5.write("/words/text", word_text, {"1", "each word's text (its tokens decoded; the id without a tokenizer)"});
  h5.attr("/words", "multi_token", tok ? c.multi_token : std::string("none: no tokenizer, every token is a word"));
  std::vector<std::int64_t> word_n;
  for (const auto& o : groups.occurrences) word_n.push_back(static_cast<std::int64_t>(o.size()));
  h5.write("/words/occurrences", word_n, {"count", "occurrences of each word"});
  h5.write("/tokens/token_id", st.token, {"token id", "token of each occurrence, corpus order"});
  h5.write("/tokens/sentence", st.sentence, {"index", "sentence of each occurrence"});
  h5.write("/tokens/position", st.position, {"position", "position of each occurrence in its sentence"});
  h5.write("/tokens/path_length", path, {"1", "sum over l of |h_{l+1} - h_l| per token"});
  h5.write("/sentences/line", lines, {"line", "1-based line of each sentence in the corpus file"});
  arma::Mat<std::int64_t> pair_idx(pairs.a.size(), 2);
  for (std::size_t k = 0; k < pairs.a.size(); ++k) {
    pair_idx(k, 0) = static_cast<std::int64_t>(pairs.a[k]);
    pair_idx(k, 1) = static_cast<std::int64_t>(pairs.b[k]);
  }
  h5.write("/anisotropy_pairs", pair_idx, {"index", "(pairs, 2) the occurrence indices of the anisotropy's pairs"});
  h5.attr("/layers", "pairs", static_cast<std::int64_t>(pairs.a.size()));
  h5.attr("/layers", "min_occurrences", c.min_occurrences);
  h5.attr("/", "sentences", static_cast<std::int64_t>(corpus.sentences.size()));
  h5.attr("/", "tokens", static_cast<std::int64_t>(N));
  h5.attr("/", "words", static_cast<std::int64_t>(W));
  h5.attr("/", "truncated_sentences", static_cast<std::int64_t>(corpus.truncated));

  // ---- report ----
  md.heading(2, "Layer by layer");
  md.paragraph(fmt::format(
      "{} sentences, {} tokens ({} truncated to {} positions), {} layers of width {}. Layer 0 is wte + wpe, layer l "
      "the residual stream after block l. Anisotropy: {} seeded pairs of occurrences from different sentences. "
      "Self-similarity and MEV: {} words occurring in ≥ {} different sentences; {}. Mean path length Σ_l |h_(l+1) − "
      "h_l| per token: {}.",
      corpus.sentences.size(), N, corpus.truncated, m.n_positions(), L, C, pairs.a.size(), W, c.min_occurrences,
      tok ? fmt::format("a word runs from a token starting with whitespace (or a sentence's first) to the next; {} "
                        "words of several tokens ({} occurrences) are {}",
                        words.multi_token_words, words.multi_token_occurrences,
                        c.multi_token == "drop"
                            ? "left out"
                            : fmt::format("represented by {}", c.multi_token == "mean"
                                                                   ? "the mean of their tokens' states"
                                                                   : "their " + c.multi_token + " token's state"))
          : std::string("no tokenizer: every token is a word"),
      report::num(arma::mean(path))));
  std::vector<std::vector<std::string>> rows;
  for (std::size_t l = 0; l < n_states; ++l)
    rows.push_back({std::to_string(l), fmt::format("{} ± {}", report::num(aniso(l)), report::num(aniso_se(l))),
                    report::num(self(l)), report::num(self(l) - aniso(l)), report::num(intra(l)),
                    report::num(intra(l) - aniso(l)), report::num(mev(l)), report::num(norm(l)),
                    l + 1 < n_states ? report::num(next_cos(l)) : "", report::num(iso(l)),
                    fmt::format("{} ({})", rogue_dim[l], report::num(rogue_share(l)))});
  md.table({"layer", "anisotropy ± se", "self-sim", "self-sim − A", "intra-sent", "intra − A", "MEV", "mean |h|",
            "cos(h_l, h_l+1)", "IsoScore", "rogue dim (share)"},
           rows);
  std::vector<double> x(all_layers.begin(), all_layers.end());
  auto plot = [&](const std::string& name, const std::string& title, const std::string& ylabel,
                  std::vector<report::Series> series, const std::string& caption) {
    report::PlotSpec spec{title, "layer", ylabel, false, false, std::move(series)};
    spec.integer_x = true;
    ctx.plots->embed(md, ctx.plots->line_plot(name, spec), caption);
  };
  plot("anisotropy", "Anisotropy: mean cos of random occurrence pairs", "mean cos",
       {{"anisotropy", x, as_std(aniso), "linespoints"}}, "Anisotropy per layer");
  plot("self_similarity", "Self-similarity of a word across contexts", "mean cos",
       {{"raw", x, as_std(self), "linespoints"}, {"minus anisotropy", x, as_std(self - aniso), "linespoints"}},
       "Self-similarity per layer, raw and minus the anisotropy");
  plot("intra_sentence", "Intra-sentence similarity", "mean cos",
       {{"raw", x, as_std(intra), "linespoints"}, {"minus anisotropy", x, as_std(intra - aniso), "linespoints"}},
       "Intra-sentence similarity per layer, raw and minus the anisotropy");
  plot("mev", "Maximum explainable variance", "σ₁² / Σσ²", {{"MEV", x, as_std(mev), "linespoints"}},
       "Share of a word's variance explained by its first principal direction");
  plot("mean_norm", "Mean state norm", "|h|", {{"mean |h|", x, as_std(norm), "linespoints"}}, "Mean |h_l| per layer");
  plot("next_layer_cosine", "cos(h_l, h_l+1) of the same token", "mean cos",
       {{"cos(h_l, h_l+1)", std::vector<double>(x.begin(), x.end() - 1), as_std(next_cos), "linespoints"}},
       "Mean cosine between a token's state and its state one layer up (at layer l)");
  plot("isoscore", "IsoScore", "IsoScore", {{"IsoScore", x, as_std(iso), "linespoints"}}, "IsoScore per layer");
  plot("rogue_share", "Share of the anisotropy from the top dimension", "share",
       {{"top dimension", x, as_std(rogue_share), "linespoints"}}, "Rogue-dimension share per layer");
  std::vector<std::string> labels;
  for (int l : all_layers) labels.push_back(std::to_string(l));
  ctx.plots->embed(md, ctx.plots->heatmap("layer_similarity", "Linear CKA between layers", cka, labels, 0, 1),
                   cka_all ? std::string("Layer × layer linear CKA over all occurrences")
                           : fmt::format("Layer × layer linear CKA over {} of the {} occurrences (seeded sample, "
                                         "measures.cka_tokens)",
                                         cka_cols.size(), N));
  h5.attr("/", "headline",
          fmt::format("{} tokens, {} layers: anisotropy {} at layer 0 → {} at layer {}; self-similarity {} → {}", N, L,
                      report::num(aniso(0)), report::num(aniso(L)), L, report::num(self(0)), report::num(self(L))));
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_layer_geometry() {
  return std::make_unique<experiment::Declared<Config>>(
      "layer_geometry",
      "GPT-2 hidden states layer by layer: anisotropy, self-similarity, intra-sentence similarity, MEV, "
      "trajectories, layer × layer CKA",
      experiment::Stage::none, declare, run, memory);
}

}  // namespace embedlab::experiments
