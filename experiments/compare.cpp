// compare: how alike are two embedding spaces (or the two halves of one)? Linear, debiased and RBF
// CKA, mutual k-NN and its Jaccard form, orthogonal Procrustes, SVCCA and RSA over the words both
// spaces represent, each against a permutation null (rows of space_b shuffled) with its p-value,
// null mean and sd, z-score, and a bootstrap interval over words (lib/rsa/similarity_metrics).
#include "experiments/experiments.hpp"
#include "experiments/word_spaces.hpp"
#include "io/word_lookup.hpp"
#include "report/report.hpp"
#include "rsa/similarity_metrics.hpp"
#include "stats/histogram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config {
  std::string a_path, a_format, a_tensor, a_kind, a_matrix;
  std::int64_t a_limit = 0;
  std::string b_path, b_format, b_tensor, b_kind, b_matrix;
  std::int64_t b_limit = 0;
  bool halves = false;
  std::string from;
  std::vector<std::string> words;
  std::int64_t count = 0;
  bool alpha_only = false;
  bool leading_space = true;
  std::string multi_token;
  std::vector<std::string> metrics;
  std::int64_t k = 10;
  std::string vectors;
  std::int64_t permutations = 0, bootstrap = 0;
  double confidence = 0;
  std::int64_t max_pairwise = 0;
  std::int64_t most_moved = 0;
  std::int64_t null_bins = 0;
  std::string gram;
};

word_spaces::Keys keys_a(const Config& c) {
  return {c.a_path, c.a_format, c.a_tensor, c.a_kind, c.a_limit, c.a_matrix};
}
word_spaces::Keys keys_b(const Config& c) {
  return {c.b_path, c.b_format, c.b_tensor, c.b_kind, c.b_limit, c.b_matrix};
}

void declare(Schema<Config>& s) {
  word_spaces::declare(s, "space_a", &Config::a_path, &Config::a_format, &Config::a_tensor, &Config::a_matrix,
                       &Config::a_kind, &Config::a_limit, "");
  word_spaces::declare(s, "space_b", &Config::b_path, &Config::b_format, &Config::b_tensor, &Config::b_matrix,
                       &Config::b_kind, &Config::b_limit, "");
  s.key("compare.halves", &Config::halves, "false",
        "compare the first and second half of the dimensions of space_a (space_b is not read)");
  s.key("words.from", &Config::from, "space_a",
        "the compared words: the rows of space_a (the first words.count; looked up in space_b by token string) or "
        "words.list (looked up in both)")
      .one_of({"space_a", "list"});
  s.key("words.list", &Config::words, "", "the words (words.from = list)");
  s.key("words.count", &Config::count, "0", "rows of space_a taken as words (0 = all)").min(0);
  s.key("words.alpha_only", &Config::alpha_only, "false", "keep only words made of the letters a-z");
  s.key("tokens.leading_space", &Config::leading_space, "true", experiment::kLeadingSpaceHelp);
  s.key("tokens.multi_token", &Config::multi_token, "drop",
        "a word of several tokens is dropped (listed), averaged, represented by its first/last "
        "token, or fails the run")
      .one_of({"drop", "mean", "first", "last", "error"});
  s.key("compare.metrics", &Config::metrics,
        "linear_cka, linear_cka_debiased, rbf_cka, mutual_knn, jaccard_knn, procrustes_angular, "
        "procrustes_residual, svcca, rsa_spearman",
        "metrics computed (default: all)")
      .one_of(rsa::metric_names())
      .non_empty();
  s.key("compare.k", &Config::k, "10", "neighbours of mutual_knn / jaccard_knn (cosine, self excluded)").range(1, 1000);
  s.key("compare.vectors", &Config::vectors, "raw", "raw vectors, or each side's rows scaled to unit norm first")
      .one_of({"raw", "unit"});
  s.key("compare.permutations", &Config::permutations, "1000",
        "permutations of the null (rows of space_b shuffled; 0 = none)")
      .range(0, 1000000);
  s.key("compare.bootstrap", &Config::bootstrap, "200", "bootstrap resamples over words (0 = no interval)")
      .range(0, 1000000);
  s.key("compare.confidence", &Config::confidence, "0.95", "level of the bootstrap interval").range(0.5, 0.9999);
  s.key("compare.max_pairwise_rows", &Config::max_pairwise, "8000",
        "rbf_cka and rsa_spearman hold n×n matrices (8n² bytes each): refused above this many words")
      .range(4, 100000);
  s.key("compare.most_moved", &Config::most_moved, "10",
        "words listed with the largest Procrustes displacement (equal dimensions only)")
      .range(0, 100000);
  s.key("compare.null_bins", &Config::null_bins, "40", "bins of the null-distribution histograms").range(5, 1000);
  s.key("compare.gram_precision", &Config::gram, "auto",
        "Gram products of CKA, Procrustes and SVCCA: float32 summed in double per 2048 words (~1e-7 relative), "
        "double, or auto (float once n·(p+q)² ≥ 2^30, i.e. GPT-2-sized vocabularies)")
      .one_of({"auto", "float", "double"});
  s.check("space_a.path", [](const Config& c) -> std::optional<std::string> {
    if (c.a_path.empty()) return "required (the first space)";
    return std::nullopt;
  });
  s.check("space_b.path", [](const Config& c) -> std::optional<std::string> {
    if (c.b_path.empty() && !c.halves) return "required unless compare.halves = true";
    return std::nullopt;
  });
  s.check("words.list", [](const Config& c) -> std::optional<std::string> {
    if (c.from == "list" && c.words.size() < 4)
      return fmt::format("words.from = list needs at least 4 words (got {})", c.words.size());
    return std::nullopt;
  });
}

std::string fmt_or_dash(double v) { return std::isfinite(v) ? report::num(v) : "—"; }

// The two spaces as read, the matched words' copies (double, both sides, raw and centred), and the
// n×n kernels of rbf_cka / rsa_spearman (two float64 matrices and their permuted copies) when the
// metrics ask for them and the words are within compare.max_pairwise_rows.
void memory(const Config& c, const experiment::Shapes& shapes, std::vector<experiment::Allocation>& out) {
  const auto a = word_spaces::memory("space_a", keys_a(c), shapes, out);
  std::optional<experiment::MatrixShape> b;
  if (!c.halves) b = word_spaces::memory("space_b", keys_b(c), shapes, out);
  const std::uint64_t m = c.from == "list"
                              ? c.words.size()
                              : std::min<std::uint64_t>((c.from == "space_a" || c.halves || !b ? a : *b).rows,
                                                        static_cast<std::uint64_t>(c.count));
  const std::string key = c.from == "list" ? "words.list" : "words.count";
  const double dims = static_cast<double>(a.dim) + (b ? static_cast<double>(b->dim) : 0.0);
  out.push_back({4 * 8 * static_cast<double>(m) * dims,
                 fmt::format("the {} matched words of both spaces, raw and centred, float64", m), key,
                 c.from == "list" ? "shorten it" : "lower it"});
  const bool pairwise =
      std::any_of(c.metrics.begin(), c.metrics.end(),
                  [](const std::string& x) { return x == "all" || x == "rbf_cka" || x == "rsa_spearman"; }) ||
      c.metrics.empty();
  if (pairwise && m <= static_cast<std::uint64_t>(c.max_pairwise)) {
    const double mm = static_cast<double>(m) * static_cast<double>(m);
    out.push_back({4 * 8 * mm,
                   fmt::format("rbf_cka / rsa_spearman kernels of {} words: 4 × {} float64", m, experiment::dims(m, m)),
                   "compare.max_pairwise_rows", "lower it"});
  }
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  // A source without a vocabulary names its rows "#0", "#1", …: two such sources are matched row by row.
  std::vector<word_spaces::Space> spaces;
  spaces.push_back(word_spaces::load("space_a", keys_a(c), word_spaces::Unnamed::numbered, ctx));
  if (!c.halves) spaces.push_back(word_spaces::load("space_b", keys_b(c), word_spaces::Unnamed::numbered, ctx));
  const auto& A = spaces[0];

  // Words: space_a's rows (taken directly) or a list; every space must represent a word by usable
  // rows, and neither the word nor its rows may repeat.
  io::LookupPolicy policy;
  policy.word.leading_space = c.leading_space;
  policy.word.oov = io::WordPolicy::Oov::skip;
  policy.drop_multi_token = c.multi_token == "drop";
  policy.word.multi_token =
      c.multi_token == "drop" ? io::WordPolicy::MultiToken::error : *io::parse_multi_token(c.multi_token);
  std::vector<std::string> candidates;
  std::vector<std::vector<io::WordColumns>> res(spaces.size());
  if (c.from == "list") {
    candidates = c.words;
    for (std::size_t s = 0; s < spaces.size(); ++s)
      res[s] = spaces[s].lookup->resolve(candidates, policy, spaces[s].name + " words");
  } else {
    candidates = word_spaces::first_rows(A, c.count);
    for (arma::uword j = 0; j < candidates.size(); ++j) {
      const std::string& w = candidates[j];
      io::WordColumns wc;
      wc.word = w;
      wc.columns = {j};
      res[0].push_back(std::move(wc));
    }
    if (spaces.size() > 1) res[1] = spaces[1].lookup->resolve(candidates, policy, "space_b words");
  }
  std::vector<std::size_t> kept;
  std::vector<std::string> kept_words;
  std::set<std::string> seen_words;
  std::vector<std::set<std::vector<arma::uword>>> seen_rows(spaces.size());
  std::map<std::string, std::int64_t> reason_count;
  std::vector<std::vector<std::string>> examples;
  for (std::size_t w = 0; w < candidates.size(); ++w) {
    std::string reason;
    if (c.alpha_only && !word_spaces::alphabetic(candidates[w]))
      reason = "not a-z only";
    else if (seen_words.count(candidates[w]))
      reason = "repeated word";
    for (std::size_t s = 0; s < spaces.size() && reason.empty(); ++s) {
      const auto& r = res[s][w];
      if (!io::usable(r.status))
        reason = fmt::format("{}: {}", spaces[s].name, io::to_string(r.status));
      else if (seen_rows[s].count(r.columns))
        reason = fmt::format("{}: same rows as an earlier word", spaces[s].name);
    }
    seen_words.insert(candidates[w]);
    if (reason.empty()) {
      kept.push_back(w);
      kept_words.push_back(candidates[w]);
      for (std::size_t s = 0; s < spaces.size(); ++s) seen_rows[s].insert(res[s][w].columns);
    } else {
      reason_count[reason] += 1;
      if (examples.size() < 15) examples.push_back({candidates[w], reason});
    }
  }
  const arma::uword n = kept.size();
  ctx.h5->write("/coverage/words", kept_words, {"1", "the compared words, in row order of the metrics"});
  ctx.h5->attr("/coverage", "candidates", static_cast<std::int64_t>(candidates.size()));
  ctx.h5->attr("/coverage", "kept", static_cast<std::int64_t>(n));
  ctx.h5->attr("/coverage", "dropped", static_cast<std::int64_t>(candidates.size() - n));
  ctx.h5->attr("/coverage", "share", candidates.empty() ? 0.0 : static_cast<double>(n) / candidates.size());
  md.heading(2, "Words compared");
  {
    std::vector<std::vector<std::string>> rows{{"kept", std::to_string(n)}};
    for (const auto& [r, cnt] : reason_count) rows.push_back({"dropped: " + r, std::to_string(cnt)});
    md.paragraph(fmt::format("{} candidates ({}), {} kept ({:.1f}%).", candidates.size(),
                             c.from == "list" ? "words.list"
                                              : (c.count > 0 ? fmt::format("the first {} rows of space_a", c.count)
                                                             : "every row of space_a"),
                             n, candidates.empty() ? 0.0 : 100.0 * static_cast<double>(n) / candidates.size()));
    md.table({"", "words"}, rows);
    if (!examples.empty()) md.table({"dropped word (first 15)", "why"}, examples);
  }
  if (n < 4) throw Error(Exit::data, fmt::format("compare: only {} words are shared (need at least 4)", n));

  // X (p, n), Y (q, n): column i = word i.
  std::vector<arma::mat> M;
  for (std::size_t s = 0; s < spaces.size(); ++s) {
    arma::mat x(spaces[s].emb.dim(), n);
    for (arma::uword i = 0; i < n; ++i)
      x.col(i) = io::WordLookup::mean_vector(spaces[s].emb.vectors, res[s][kept[i]].columns);
    M.push_back(std::move(x));
  }
  std::vector<std::string> names = {"space_a", "space_b"};
  if (c.halves) {
    const arma::uword d = M[0].n_rows, h = d / 2;
    if (h < 1) throw Error(Exit::data, fmt::format("compare.halves: need at least 2 dimensions (got {})", d));
    const arma::mat full = M[0];
    M = {full.rows(0, h - 1), full.rows(h, d - 1)};
    names = {fmt::format("dimensions 0..{}", h - 1), fmt::format("dimensions {}..{}", h, d - 1)};
  }
  if (c.vectors == "unit") {
    M[0] = rsa::unit_columns(M[0], names[0]);
    M[1] = rsa::unit_columns(M[1], names[1]);
  }
  std::vector<rsa::Metric> metrics;
  for (const auto& m : c.metrics) metrics.push_back(rsa::parse_metric(m));
  rsa::MetricOptions mo;
  mo.k = static_cast<arma::uword>(c.k);
  mo.max_pairwise_rows = static_cast<arma::uword>(c.max_pairwise);
  mo.pairwise_key = "compare.max_pairwise_rows";
  mo.workers = ctx.threads;
  mo.gram = rsa::parse_gram_precision(c.gram);
  rsa::CalibrationOptions co;
  co.permutations = static_cast<std::size_t>(c.permutations);
  co.bootstrap = static_cast<std::size_t>(c.bootstrap);
  co.level = c.confidence;
  co.workers = ctx.threads;
  const auto cal = rsa::calibrate(M[0], M[1], metrics, mo, co, ctx.rng.child(0));

  ctx.h5->attr("/metrics", "rows", static_cast<std::int64_t>(n));
  ctx.h5->attr("/metrics", "dim_a", static_cast<std::int64_t>(M[0].n_rows));
  ctx.h5->attr("/metrics", "dim_b", static_cast<std::int64_t>(M[1].n_rows));
  ctx.h5->attr("/metrics", "space_a", names[0]);
  ctx.h5->attr("/metrics", "space_b", names[1]);
  ctx.h5->attr("/metrics", "vectors", c.vectors);
  ctx.h5->attr("/metrics", "k", c.k);
  ctx.h5->attr("/metrics", "permutations", c.permutations);
  ctx.h5->attr("/metrics", "bootstrap", c.bootstrap);
  ctx.h5->attr("/metrics", "confidence", c.confidence);
  ctx.h5->attr("/metrics", "gram_precision",
               std::string(rsa::uses_float_grams(mo.gram, n, M[0].n_rows, M[1].n_rows) ? "float" : "double"));
  md.heading(2, "Similarity of the two spaces");
  md.paragraph(fmt::format(
      "{} ({} dims) against {} ({} dims) over {} words, {} vectors; k = {} for the neighbour metrics. Null: {} "
      "permutations of the rows of {} (p = (1 + #null ≥ observed)/(1 + P), upper tail for every metric: for the "
      "two Procrustes distances, where smaller means more alike, likeness shows as a negative z). Interval: {} "
      "bootstrap resamples of the words, {:.0f}%: percentile intervals, except SVCCA (basic interval 2θ̂ − q, "
      "resamples overfit) and the k-NN overlaps (the mean of the words' own overlaps resampled, neighbour lists "
      "computed once: recomputed on a resample, duplicated words would be each other's neighbours).",
      names[0], M[0].n_rows, names[1], M[1].n_rows, n, c.vectors, c.k, c.permutations, names[1], c.bootstrap,
      100 * c.confidence));
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : cal) {
    const std::string g = fmt::format("/metrics/{}", rsa::to_string(r.metric));
    auto one = [&](const char* key, double v, const char* what) {
      ctx.h5->write(g + "/" + key, std::vector<double>{v}, {"1", what});
    };
    one("value", r.value, "the metric on the compared words");
    one("p_value", r.p_value, "permutation p-value (1 + #{null >= value}) / (1 + permutations)");
    one("null_mean", r.null_mean, "mean of the permutation null");
    one("null_sd", r.null_sd, "standard deviation of the permutation null (divisor P - 1)");
    one("z", r.z, "(value - null_mean) / null_sd");
    one("excess", r.excess, "value - null_mean");
    one("ci_low", r.ci_low, "lower end of the bootstrap interval over words (method: attribute interval)");
    one("ci_high", r.ci_high, "upper end of the bootstrap interval over words (method: attribute interval)");
    ctx.h5->attr(g, "interval", std::string(rsa::to_string(r.interval)));
    ctx.h5->write(g + "/null", r.null, {"1", "the permutation null values, in permutation order"});
    ctx.h5->attr(g, "bootstrap_failed", static_cast<std::int64_t>(r.failed));
    ctx.h5->attr(g, "higher_is_similar", static_cast<std::int64_t>(rsa::higher_is_similar(r.metric)));
    rows.push_back(
        {std::string(rsa::to_string(r.metric)), report::num(r.value), fmt_or_dash(r.null_mean), fmt_or_dash(r.null_sd),
         fmt_or_dash(r.z), fmt_or_dash(r.p_value),
         std::isfinite(r.ci_low) ? fmt::format("[{}, {}]", report::num(r.ci_low), report::num(r.ci_high)) : "—"});
  }
  md.table({"metric", "value", "null mean", "null sd", "z", "p", "bootstrap CI"}, rows);

  // Details: SVCCA's kept dimensions, Procrustes' most-moved words.
  const bool want_svcca = std::find(metrics.begin(), metrics.end(), rsa::Metric::svcca) != metrics.end();
  const bool want_proc = std::find_if(metrics.begin(), metrics.end(), [](rsa::Metric m) {
                           return m == rsa::Metric::procrustes_angular || m == rsa::Metric::procrustes_residual;
                         }) != metrics.end();
  if (want_svcca) {
    const auto sv = rsa::svcca(M[0], M[1], 0.99, mo.gram);
    ctx.h5->write("/svcca/correlations", sv.correlations, {"1", "canonical correlations of the kept directions"});
    ctx.h5->attr("/svcca", "kept_a", static_cast<std::int64_t>(sv.kept_x));
    ctx.h5->attr("/svcca", "kept_b", static_cast<std::int64_t>(sv.kept_y));
    md.paragraph(
        fmt::format("SVCCA keeps {} of {} and {} of {} directions (99% of the variance each); top "
                    "canonical correlation {}.",
                    sv.kept_x, M[0].n_rows, sv.kept_y, M[1].n_rows, report::num(sv.correlations.max())));
  }
  if (want_proc && M[0].n_rows == M[1].n_rows && c.most_moved > 0) {
    const auto pr = rsa::procrustes(M[0], M[1], mo.gram);
    std::vector<arma::uword> order(n);
    std::iota(order.begin(), order.end(), arma::uword{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](arma::uword a, arma::uword b) { return pr.displacement[a] > pr.displacement[b]; });
    ctx.h5->write("/procrustes/displacement", pr.displacement,
                  {"1", "‖a_i Q − b_i‖ of each word (A, B centred and scaled to unit Frobenius norm)"});
    ctx.h5->write("/procrustes/rotation", pr.Q, {"1", "the orthogonal Q minimising ‖AQ − B‖_F"});
    std::vector<std::vector<std::string>> moved;
    std::vector<std::string> mw;
    for (arma::uword t = 0; t < std::min<arma::uword>(n, static_cast<arma::uword>(c.most_moved)); ++t) {
      moved.push_back({std::to_string(t + 1), kept_words[order[t]], report::num(pr.displacement[order[t]])});
      mw.push_back(kept_words[order[t]]);
    }
    ctx.h5->write("/procrustes/most_moved", mw, {"1", "words with the largest displacement, largest first"});
    md.heading(3, "Words the Procrustes rotation moves most");
    md.table({"#", "word", "‖a_i Q − b_i‖"}, moved);
  }

  // Each metric against its null: histogram of the null, the observed value as a vertical line.
  if (c.permutations > 0) {
    md.heading(2, "Each metric against its permutation null");
    for (const auto& r : cal) {
      std::vector<double> finite;
      for (const double v : r.null)
        if (std::isfinite(v)) finite.push_back(v);
      if (finite.empty() || !std::isfinite(r.value)) continue;
      double lo = std::min(*std::min_element(finite.begin(), finite.end()), r.value);
      double hi = std::max(*std::max_element(finite.begin(), finite.end()), r.value);
      if (!(hi > lo)) {
        lo -= 0.5;
        hi += 0.5;
      }
      const double pad = 0.02 * (hi - lo);
      stats::Histogram h(lo - pad, hi + pad, static_cast<std::size_t>(c.null_bins));
      for (const double v : finite) h.add(v);
      report::Series null{"permutation null", {}, {}, "boxes"};
      double top = 0;
      for (std::size_t b = 0; b < h.bins(); ++b) {
        const double dens = static_cast<double>(h.counts()[b]) / (static_cast<double>(finite.size()) * h.bin_width());
        null.x.push_back(h.bin_lo(b) + h.bin_width() / 2);
        null.y.push_back(dens);
        top = std::max(top, dens);
      }
      report::Series obs{"observed", {r.value, r.value}, {0.0, top * 1.05}, "lines"};
      report::PlotSpec spec;
      spec.title = fmt::format("{}: observed against {} permutations", rsa::to_string(r.metric), r.permutations);
      spec.xlabel = std::string(rsa::to_string(r.metric));
      spec.ylabel = "density";
      spec.series = {null, obs};
      const std::string name = fmt::format("null_{}", rsa::to_string(r.metric));
      const std::string file = ctx.plots->line_plot(name, spec);
      ctx.plots->embed(md, file, fmt::format("{}: null distribution and observed value", rsa::to_string(r.metric)));
    }
  }
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_compare() {
  return std::make_unique<experiment::Declared<Config>>(
      "compare",
      "similarity of two spaces (or two halves of one): CKA, mutual k-NN, Procrustes, SVCCA, RSA with permutation "
      "nulls",
      experiment::Stage::none, declare, run, memory);
}

}  // namespace embedlab::experiments
