// rsa: Representational Similarity Analysis (Kriegeskorte et al. 2008; lesson point 9) between two
// embedding spaces over a shared word list — or between the two halves of the dimensions of one
// space. Each space gives an RDM of the kept words; the RDMs are compared by the configured
// statistics with a Mantel permutation p-value and a bootstrap-over-items interval.
#include "experiments/experiments.hpp"
#include "experiments/word_spaces.hpp"
#include "io/word_lookup.hpp"
#include "report/report.hpp"
#include "rsa/compare.hpp"
#include "rsa/rdm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config {
  // Flat members: the schema binds pointers to members of Config.
  std::string a_path, a_format, a_tensor, a_kind, a_matrix;
  std::int64_t a_limit = 0;
  std::string b_path, b_format, b_tensor, b_kind, b_matrix;
  std::int64_t b_limit = 0;
  bool halves = false;
  std::vector<std::string> words;
  std::string from;
  std::int64_t count = 0;
  bool alpha_only = true;
  bool leading_space = true;
  std::string multi_token;
  std::string metric;
  std::vector<std::string> methods;
  std::int64_t permutations = 0, resamples = 0;
  double confidence = 0;
};

word_spaces::Keys keys_a(const Config& c) {
  return {c.a_path, c.a_format, c.a_tensor, c.a_kind, c.a_limit, c.a_matrix};
}
word_spaces::Keys keys_b(const Config& c) {
  return {c.b_path, c.b_format, c.b_tensor, c.b_kind, c.b_limit, c.b_matrix};
}

void declare(Schema<Config>& s) {
  word_spaces::declare(s, "space_a", &Config::a_path, &Config::a_format, &Config::a_tensor, &Config::a_matrix,
                       &Config::a_kind, &Config::a_limit, "data/gpt2");
  word_spaces::declare(s, "space_b", &Config::b_path, &Config::b_format, &Config::b_tensor, &Config::b_matrix,
                       &Config::b_kind, &Config::b_limit, "");
  s.key("rsa.halves", &Config::halves, "false",
        "compare the first and second half of the dimensions of space_a (space_b is not read)");
  s.key("words.list", &Config::words, "", "the candidate words (words.from = list)");
  s.key("words.from", &Config::from, "space_b",
        "where candidates come from: list, or the first words.count rows of space_a / space_b (frequency order for "
        "GloVe)")
      .one_of({"list", "space_a", "space_b"});
  s.key("words.count", &Config::count, "300", "candidate rows taken from a space (words.from = space_a|space_b)")
      .range(3, 100000);
  s.key("words.alpha_only", &Config::alpha_only, "true", "keep only candidates made of the letters a-z");
  s.key("tokens.leading_space", &Config::leading_space, "true", experiment::kLeadingSpaceHelp);
  s.key("tokens.multi_token", &Config::multi_token, "drop",
        "a word of several tokens is dropped (listed), averaged, represented by its first/last "
        "token, or fails the run")
      .one_of({"drop", "mean", "first", "last", "error"});
  s.key("rdm.metric", &Config::metric, "cosine", "dissimilarity of the RDMs")
      .one_of({"cosine", "correlation", "euclidean"});
  s.key("compare.methods", &Config::methods, "spearman, pearson", "statistics comparing the two RDMs' upper triangles")
      .one_of({"spearman", "pearson", "kendall_tau_a", "cosine"})
      .non_empty();
  s.key("compare.permutations", &Config::permutations, "1000", "Mantel permutations").range(1, 1000000);
  s.key("compare.bootstrap", &Config::resamples, "1000", "bootstrap resamples over items").range(1, 1000000);
  s.key("compare.confidence", &Config::confidence, "0.95", "level of the bootstrap interval").range(0.5, 0.9999);
  s.check("space_a.path", [](const Config& c) -> std::optional<std::string> {
    if (c.a_path.empty()) return "required (the space whose words are compared)";
    return std::nullopt;
  });
  s.check("space_b.path", [](const Config& c) -> std::optional<std::string> {
    if (c.b_path.empty() && !c.halves) return "required unless rsa.halves = true";
    return std::nullopt;
  });
  s.check("words.list", [](const Config& c) -> std::optional<std::string> {
    if (c.from == "list" && c.words.size() < 3)
      return fmt::format("words.from = list needs at least 3 words (got {})", c.words.size());
    return std::nullopt;
  });
}

// The item vector of a usable word: its row, or the mean of its pieces' rows (d).
arma::vec item_vector(const io::Embeddings& emb, const io::WordColumns& w) {
  return io::WordLookup::mean_vector(emb.vectors, w.columns);
}

// The bound of RSA: the RDMs of m words are m×m. Each space is read whole (n×d float32); then the
// two RDMs, the bootstrap's symmetric copies and the upper triangles: 6 m×m float64 in all, m =
// the candidate count (words.count rows of a space, or words.list).
void memory(const Config& c, const experiment::Shapes& shapes, std::vector<experiment::Allocation>& out) {
  const auto a = word_spaces::memory("space_a", keys_a(c), shapes, out);
  std::optional<experiment::MatrixShape> b;
  if (!c.halves) b = word_spaces::memory("space_b", keys_b(c), shapes, out);
  std::uint64_t m = 0;
  if (c.from == "list") {
    m = c.words.size();
  } else {
    const auto& src = c.from == "space_a" || c.halves || !b ? a : *b;
    m = std::min<std::uint64_t>(src.rows, static_cast<std::uint64_t>(c.count));
  }
  const double mm = static_cast<double>(m) * static_cast<double>(m);
  out.push_back({6 * 8 * mm,
                 fmt::format("RDMs of {} words: 6 × {} float64 (two RDMs, the bootstrap's copies, the triangles)", m,
                             experiment::dims(m, m)),
                 c.from == "list" ? "words.list" : "words.count", c.from == "list" ? "shorten it" : "lower it"});
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  std::vector<word_spaces::Space> spaces;
  spaces.push_back(word_spaces::load("space_a", keys_a(c), word_spaces::Unnamed::error, ctx));
  if (!c.halves) spaces.push_back(word_spaces::load("space_b", keys_b(c), word_spaces::Unnamed::error, ctx));

  // Candidates.
  std::vector<std::string> candidates;
  if (c.from == "list") {
    candidates = c.words;
  } else {
    const std::size_t which = c.from == "space_a" || c.halves ? 0 : 1;
    candidates = word_spaces::first_rows(spaces[which], c.count);
  }
  if (candidates.empty()) throw Error(Exit::data, fmt::format("{}: no rows to take candidate words from", c.from));

  io::LookupPolicy policy;
  policy.word.leading_space = c.leading_space;
  policy.word.oov = io::WordPolicy::Oov::skip;
  policy.drop_multi_token = c.multi_token == "drop";
  policy.word.multi_token =
      c.multi_token == "drop" ? io::WordPolicy::MultiToken::error : *io::parse_multi_token(c.multi_token);
  std::vector<std::vector<io::WordColumns>> res;
  for (const auto& s : spaces) res.push_back(s.lookup->resolve(candidates, policy, s.name + " words"));

  // Coverage: a word is kept when every space represents it, it passes the filter and it is not a
  // repeat (of the word or of the rows it maps to).
  std::vector<std::string> status_a, status_b, reasons, kept_words;
  std::vector<std::int64_t> kept_flag;
  std::vector<std::size_t> kept;
  std::set<std::string> seen_words;
  std::vector<std::set<std::vector<arma::uword>>> seen_rows(spaces.size());
  std::map<std::string, std::int64_t> reason_count;
  for (std::size_t w = 0; w < candidates.size(); ++w) {
    std::string reason;
    if (c.alpha_only && !word_spaces::alphabetic(candidates[w]))
      reason = "not a-z only";
    else if (seen_words.count(candidates[w]))
      reason = "repeated word";
    for (std::size_t s = 0; s < spaces.size() && reason.empty(); ++s) {
      const auto& r = res[s][w];
      if (!io::usable(r.status))
        reason = fmt::format("{}: {} ({})", spaces[s].name, io::to_string(r.status), r.reason);
      else if (seen_rows[s].count(r.columns))
        reason = fmt::format("{}: same rows as an earlier word", spaces[s].name);
    }
    seen_words.insert(candidates[w]);
    status_a.push_back(io::to_string(res[0][w].status));
    status_b.push_back(io::to_string(res.back()[w].status));
    reasons.push_back(reason);
    kept_flag.push_back(reason.empty() ? 1 : 0);
    if (reason.empty()) {
      kept.push_back(w);
      kept_words.push_back(candidates[w]);
      for (std::size_t s = 0; s < spaces.size(); ++s) seen_rows[s].insert(res[s][w].columns);
    } else {
      // Group reasons by their kind (the part before the parenthesis) for the summary table.
      reason_count[reason.substr(0, reason.find(" ("))] += 1;
    }
  }
  const arma::uword m = kept.size();
  ctx.h5->write("/coverage/words", candidates, {"1", "candidate words in order"});
  ctx.h5->write("/coverage/status_a", status_a, {"1", "lookup status of each candidate in space_a"});
  ctx.h5->write("/coverage/status_b", status_b,
                {"1", c.halves ? "lookup status in space_a (halves: one space)" : "lookup status in space_b"});
  ctx.h5->write("/coverage/kept", kept_flag, {"1", "1 when the word is an RSA item"});
  ctx.h5->write("/coverage/reason", reasons, {"1", "why a word was dropped (empty when kept)"});
  ctx.h5->attr("/coverage", "candidates", static_cast<std::int64_t>(candidates.size()));
  ctx.h5->attr("/coverage", "kept", static_cast<std::int64_t>(m));
  ctx.h5->attr("/coverage", "dropped", static_cast<std::int64_t>(candidates.size() - m));
  md.heading(2, "Coverage of the word list");
  {
    std::vector<std::vector<std::string>> rows{{"kept", std::to_string(m)}};
    for (const auto& [r, n] : reason_count) rows.push_back({"dropped: " + r, std::to_string(n)});
    md.paragraph(fmt::format("{} candidates ({}); multi-token words: {}; leading space: {}.", candidates.size(),
                             c.from == "list" ? "words.list" : fmt::format("first {} rows of {}", c.count, c.from),
                             c.multi_token, c.leading_space));
    md.table({"", "words"}, rows);
    std::vector<std::vector<std::string>> examples;
    for (std::size_t w = 0; w < candidates.size() && examples.size() < 15; ++w)
      if (!reasons[w].empty()) examples.push_back({candidates[w], reasons[w]});
    if (!examples.empty()) md.table({"dropped word (first 15)", "why"}, examples);
  }
  if (m < 3) throw Error(Exit::data, fmt::format("rsa: only {} words are kept (need at least 3)", m));

  // Item matrices X (d, m) and the RDMs.
  std::vector<arma::mat> X;
  for (std::size_t s = 0; s < spaces.size(); ++s) {
    arma::mat x(spaces[s].emb.dim(), m);
    for (arma::uword i = 0; i < m; ++i) x.col(i) = item_vector(spaces[s].emb, res[s][kept[i]]);
    X.push_back(std::move(x));
  }
  std::vector<std::string> space_names = {spaces[0].name, c.halves ? "" : spaces.back().name};
  if (c.halves) {
    const arma::uword d = X[0].n_rows, h = d / 2;
    if (h < 1) throw Error(Exit::data, fmt::format("rsa.halves: need at least 2 dimensions (got {})", d));
    arma::mat full = X[0];
    X = {full.rows(0, h - 1), full.rows(h, d - 1)};
    space_names = {fmt::format("dimensions 0..{}", h - 1), fmt::format("dimensions {}..{}", h, d - 1)};
  }
  const auto metric = rsa::parse_dissimilarity(c.metric);
  const arma::mat A = rsa::rdm(X[0], metric), B = rsa::rdm(X[1], metric);
  ctx.h5->write("/rdm/words", kept_words, {"1", "the RSA items in RDM order"});
  ctx.h5->write("/rdm/a", A, {"1", fmt::format("RDM ({}) of {}", c.metric, space_names[0])});
  ctx.h5->write("/rdm/b", B, {"1", fmt::format("RDM ({}) of {}", c.metric, space_names[1])});
  ctx.h5->attr("/rdm", "metric", c.metric);
  ctx.h5->attr("/rdm", "space_a", space_names[0]);
  ctx.h5->attr("/rdm", "space_b", space_names[1]);

  // Comparisons.
  md.heading(2, "RDM comparison");
  md.paragraph(
      fmt::format("{} items, {} pairs; RDM metric {}; Mantel test with {} permutations (upper tail); "
                  "bootstrap over items, {} resamples, {:.0f}% percentile interval.",
                  m, m * (m - 1) / 2, c.metric, c.permutations, c.resamples, 100 * c.confidence));
  std::vector<double> stat, p, lo, hi;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t k = 0; k < c.methods.size(); ++k) {
    const auto method = rsa::parse_comparison(c.methods[k]);
    Rng rp = ctx.rng.child(2 * k), rb = ctx.rng.child(2 * k + 1);
    const auto mt = rsa::mantel_test(A, B, method, static_cast<std::size_t>(c.permutations), rp);
    const auto bs = rsa::bootstrap_rdm_ci(A, B, method, static_cast<std::size_t>(c.resamples), c.confidence, rb);
    stat.push_back(mt.statistic);
    p.push_back(mt.p_value);
    lo.push_back(bs.ci.lo);
    hi.push_back(bs.ci.hi);
    rows.push_back({c.methods[k], report::num(mt.statistic), report::num(mt.p_value),
                    fmt::format("[{}, {}]", report::num(bs.ci.lo), report::num(bs.ci.hi)), std::to_string(bs.failed)});
  }
  ctx.h5->write("/compare/method", c.methods, {"1", "comparison statistic of each row"});
  ctx.h5->write("/compare/statistic", stat, {"1", "the statistic between the two RDMs' upper triangles"});
  ctx.h5->write("/compare/p_value", p, {"1", "Mantel permutation p-value (upper tail, observed counted once)"});
  ctx.h5->write("/compare/ci_low", lo, {"1", "lower end of the bootstrap percentile interval"});
  ctx.h5->write("/compare/ci_high", hi, {"1", "upper end of the bootstrap percentile interval"});
  ctx.h5->attr("/compare", "permutations", c.permutations);
  ctx.h5->attr("/compare", "bootstrap", c.resamples);
  ctx.h5->attr("/compare", "confidence", c.confidence);
  md.table({"statistic", "value", "Mantel p", "bootstrap CI", "failed resamples"}, rows);

  // The two RDMs side by side, on one colour scale.
  const double top = std::max(A.max(), B.max());
  const std::vector<std::string> labels = m <= 40 ? kept_words : std::vector<std::string>{};
  const std::string fa = ctx.plots->heatmap("rdm_a", "RDM: " + space_names[0], A, labels, 0, top);
  const std::string fb = ctx.plots->heatmap("rdm_b", "RDM: " + space_names[1], B, labels, 0, top);
  md.heading(2, "The two RDMs");
  if (!fa.empty() && !fb.empty()) {
    md.table({space_names[0], space_names[1]}, {{fmt::format("![RDM a]({})", fa), fmt::format("![RDM b]({})", fb)}});
  } else {
    ctx.plots->embed(md, fa, "RDM of " + space_names[0]);
    ctx.plots->embed(md, fb, "RDM of " + space_names[1]);
  }
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_rsa() {
  return std::make_unique<experiment::Declared<Config>>(
      "rsa", "representational similarity of two spaces (or two halves of one) over a shared word list",
      experiment::Stage::none, declare, run, memory);
}

}  // namespace embedlab::experiments
