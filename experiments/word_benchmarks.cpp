// word_benchmarks: WordSim-353 / SimLex-999 style word-pair correlations and word2vec analogies
// (3CosAdd, 3CosMul) on the configured space, with gensim's semantics (lib/linalg/wordbench).
#include "core/sha256.hpp"
#include "experiments/experiments.hpp"
#include "io/benchmarks.hpp"
#include "io/word_lookup.hpp"
#include "linalg/wordbench.hpp"
#include "report/report.hpp"
#include "stats/correlation.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config {
  std::vector<std::string> pair_files;
  std::string analogies;
  std::vector<std::string> methods;
  std::int64_t restrict_vocab = 0;
  bool case_insensitive = true;
  bool leading_space = true;
};

void declare(Schema<Config>& s) {
  s.key("benchmarks.word_pairs", &Config::pair_files, "benchmarks/wordsim353.tsv, benchmarks/simlex999.txt",
        "word-pair files (word1<TAB>word2<TAB>score, # comments); empty: none");
  s.path("benchmarks.analogies", &Config::analogies, "benchmarks/questions-words.txt",
         "word2vec analogy questions (`: section` headers, `a b c d` lines); empty: none")
      .input();
  s.key("benchmarks.methods", &Config::methods, "3cosadd, 3cosmul", "analogy methods").one_of({"3cosadd", "3cosmul"});
  s.key("benchmarks.restrict_vocab", &Config::restrict_vocab, "300000",
        "only the first N rows answer and are looked up (gensim's restrict_vocab; 0 = all)")
      .min(0);
  s.key("benchmarks.case_insensitive", &Config::case_insensitive, "true",
        "look words up case-insensitively (first row whose upper-cased token matches, as gensim)");
  s.key("tokens.leading_space", &Config::leading_space, "true",
        "GPT-2 spaces: a word is the token ' word' (true) or 'word' (false); words of several tokens are out of "
        "vocabulary");
}

// The words each row stands for. GPT-2: the token's bytes under the leading-space policy (tokens
// that are not a whole word get an empty key, which no benchmark word matches).
std::vector<std::string> row_words(const Context& ctx, bool leading_space) {
  const auto& emb = ctx.data->emb;
  // The tokenizer search of every word lookup (io::WordLookup::tokenizer_dir_for).
  const auto dir = io::WordLookup::tokenizer_dir_for(emb.source);
  if (!dir) return emb.tokens;
  const auto shared = io::Gpt2Tokenizer::shared_from_dir(*dir);
  const auto& tok = *shared;
  std::vector<std::string> words(emb.tokens.empty() ? ctx.data->unit.n_cols : emb.tokens.size());
  // The tokenizer's own word-initial form: byte-level and SentencePiece tokens start with a space
  // (token_bytes of "Ġcat" / "▁cat" is " cat"); WordPiece words are the bare tokens, "##" ones glued.
  const auto style = tok.word_style();
  for (std::size_t j = 0; j < words.size() && j < static_cast<std::size_t>(tok.vocab_size()); ++j) {
    const int id = static_cast<int>(j);
    if (tok.is_special(id)) continue;
    const std::string& b = tok.token_bytes(id);
    if (style == tok::WordStyle::wordpiece) {
      const bool glued = b.starts_with("##");
      if (leading_space && !glued) words[j] = b;
      if (!leading_space && glued && b.size() > 2) words[j] = b.substr(2);
    } else if (style == tok::WordStyle::plain) {
      words[j] = b;
    } else {
      if (leading_space && b.size() > 1 && b[0] == ' ') words[j] = b.substr(1);
      if (!leading_space && !b.empty() && b[0] != ' ') words[j] = b;
    }
  }
  return words;
}

// The analogies normalise a copy of the first restrict_vocab rows (d × rows float32).
void memory(const Config& c, const experiment::Shapes& shapes, std::vector<experiment::Allocation>& out) {
  if (!shapes.embeddings || c.analogies.empty()) return;
  const auto& e = *shapes.embeddings;
  const std::uint64_t rows = c.restrict_vocab > 0 ? std::min<std::uint64_t>(e.rows, c.restrict_vocab) : e.rows;
  out.push_back(
      {4.0 * static_cast<double>(rows) * static_cast<double>(e.dim),
       fmt::format("unit copy of the first {} rows, {} float32 (analogies)", rows, experiment::dims(rows, e.dim)),
       "benchmarks.restrict_vocab"});
}

void run(const Config& c, Context& ctx) {
  if (ctx.data->emb.tokens.empty() && !io::WordLookup::tokenizer_dir_for(ctx.data->emb.source))
    throw Error(Exit::data, fmt::format("{}: word_benchmarks needs a vocabulary (token strings); this source has none",
                                        ctx.data->emb.source.path));
  const auto words = row_words(ctx, c.leading_space);
  linalg::VocabOptions vo;
  vo.restrict_vocab = static_cast<std::uint64_t>(c.restrict_vocab);
  vo.case_insensitive = c.case_insensitive;
  const linalg::WordIndex index(words, vo);
  const arma::fmat& U = ctx.data->unit;
  auto& md = *ctx.md;

  if (!c.pair_files.empty()) {
    md.heading(2, "Word-pair similarity benchmarks");
    std::vector<std::vector<std::string>> rows;
    for (std::size_t f = 0; f < c.pair_files.size(); ++f) {
      const auto set = io::read_word_pairs(c.pair_files[f]);
      ctx.inputs->push_back(
          InputFile{c.pair_files[f], "word-pairs", "text", {set.size(), 3}, sha256_file(c.pair_files[f])});
      const auto sc = linalg::score_word_pairs(U, index, set.a, set.b, set.score, false, c.pair_files[f]);
      const double pearson = stats::pearson(sc.gold, sc.cosine), spearman = stats::spearman(sc.gold, sc.cosine);
      const std::string name = std::filesystem::path(c.pair_files[f]).stem().string();
      const std::string g = "/pairs/" + name;
      ctx.h5->write(g + "/gold", sc.gold, {"1", "human similarity score of each scored pair"});
      ctx.h5->write(g + "/cosine", sc.cosine, {"1", "cosine of the two words of each scored pair"});
      std::vector<std::int64_t> line;
      for (auto p : sc.pair) line.push_back(static_cast<std::int64_t>(set.line[p]));
      ctx.h5->write(g + "/line", line, {"1", "line of each scored pair in the benchmark file"});
      ctx.h5->attr(g, "pearson", pearson);
      ctx.h5->attr(g, "spearman", spearman);
      ctx.h5->attr(g, "pairs", static_cast<std::int64_t>(sc.total));
      ctx.h5->attr(g, "oov_pairs", static_cast<std::int64_t>(sc.oov));
      ctx.h5->attr(g, "oov_ratio_percent", sc.oov_ratio);
      rows.push_back({name, std::to_string(sc.total), std::to_string(sc.cosine.n_elem),
                      fmt::format("{:.1f}%", sc.oov_ratio), report::num(pearson), report::num(spearman)});
      ctx.plots->embed(
          md,
          ctx.plots->line_plot("pairs_" + name, {fmt::format("{}: human score against cosine", name),
                                                 "human score",
                                                 "cosine",
                                                 false,
                                                 false,
                                                 {{name, arma::conv_to<std::vector<double>>::from(sc.gold),
                                                   arma::conv_to<std::vector<double>>::from(sc.cosine), "points"}}}),
          fmt::format("{}: human score against cosine (Spearman {})", name, report::num(spearman)));
    }
    md.table({"benchmark", "pairs", "scored", "OOV", "Pearson", "Spearman"}, rows);
  }

  if (!c.analogies.empty()) {
    const auto set = io::read_analogies(c.analogies);
    ctx.inputs->push_back(
        InputFile{c.analogies, "analogies", "text", {set.questions.size(), 4}, sha256_file(c.analogies)});
    std::vector<linalg::AnalogySpan> spans;
    for (const auto& s : set.sections) spans.push_back({s.name, s.begin, s.end});
    md.heading(2, "Analogies (a : b :: c : ?)");
    for (const auto& m : c.methods) {
      linalg::AnalogyOptions ao;
      ao.vocab = vo;
      ao.method = m == "3cosmul" ? linalg::AnalogyMethod::cos_mul : linalg::AnalogyMethod::cos_add;
      ao.workers = ctx.threads;
      const auto r = linalg::evaluate_analogies(U, index, set.questions, spans, ao);
      const std::string g = "/analogies/" + m;
      std::vector<std::string> names;
      std::vector<std::int64_t> correct, incorrect, oov;
      std::vector<std::vector<std::string>> rows;
      for (const auto& s : r.sections) {
        names.push_back(s.name);
        correct.push_back(static_cast<std::int64_t>(s.correct));
        incorrect.push_back(static_cast<std::int64_t>(s.incorrect));
        oov.push_back(static_cast<std::int64_t>(s.oov));
        rows.push_back({s.name, std::to_string(s.correct), std::to_string(s.incorrect), std::to_string(s.oov),
                        report::num(s.accuracy())});
      }
      rows.push_back({"**total**", std::to_string(r.total.correct), std::to_string(r.total.incorrect),
                      std::to_string(r.oov), report::num(r.total.accuracy())});
      ctx.h5->write(g + "/section", names, {"1", "analogy section"});
      ctx.h5->write(g + "/correct", correct, {"questions", "correctly answered questions per section"});
      ctx.h5->write(g + "/incorrect", incorrect, {"questions", "wrongly answered questions per section"});
      ctx.h5->write(g + "/oov", oov, {"questions", "questions skipped for an unknown word per section"});
      ctx.h5->write(g + "/outcome", std::vector<std::int64_t>(r.outcome.begin(), r.outcome.end()),
                    {"1", "per question: 1 correct, 0 incorrect, -1 skipped (unknown word)"});
      ctx.h5->attr(g, "accuracy", r.total.accuracy());
      ctx.h5->attr(g, "correct", static_cast<std::int64_t>(r.total.correct));
      ctx.h5->attr(g, "incorrect", static_cast<std::int64_t>(r.total.incorrect));
      ctx.h5->attr(g, "oov_ratio_percent", r.oov_ratio);
      md.heading(3, fmt::format("{} ({} questions, {:.1f}% with an unknown word)", m, r.questions, r.oov_ratio));
      md.table({"section", "correct", "incorrect", "skipped (OOV)", "accuracy"}, rows);
    }
  }
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_word_benchmarks() {
  return std::make_unique<experiment::Declared<Config>>(
      "word_benchmarks", "WordSim-353 / SimLex-999 correlations and word2vec analogies (3CosAdd, 3CosMul), as gensim",
      experiment::Stage::required, declare, run, memory, experiment::Matrices::unit);
}

}  // namespace embedlab::experiments
