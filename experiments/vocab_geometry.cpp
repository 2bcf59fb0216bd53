// vocab_geometry: the geometry of a whole vocabulary (lesson points 3, 5 and 9) — row norms, the
// distribution of all n(n−1)/2 cosines against the random baseline N(0, 1/d) and against a
// Gaussian cloud with the space's own mean and covariance, anisotropy, the PCA spectrum, the mean
// cosine after all-but-the-top, and the most and least central tokens.
#include "core/progress.hpp"
#include "experiments/experiments.hpp"
#include "io/word_lookup.hpp"
#include "linalg/allpairs.hpp"
#include "linalg/anisotropy.hpp"
#include "linalg/diagnostics.hpp"
#include "linalg/normalize.hpp"
#include "linalg/probes.hpp"
#include "linalg/spectra.hpp"
#include "linalg/topk.hpp"
#include "report/report.hpp"
#include "stats/histogram.hpp"
#include "stats/moments.hpp"
#include "stats/random_cosine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <numeric>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config {
  std::int64_t norm_bins = 0;
  bool histogram = true;
  std::int64_t bins = 0, tile = 0;
  std::int64_t samples = 0;
  std::vector<std::int64_t> abtt;
  std::int64_t central = 0, k = 0;
  std::int64_t diag_k = 10;
  bool diag_csls = false, diag_standardized = true;
};

void declare(Schema<Config>& s) {
  s.key("norms.bins", &Config::norm_bins, "60", "histogram bins of the row norms").range(2, 100000);
  s.key("allpairs.histogram", &Config::histogram, "true",
        "run the O(n² d) pass over all pairs (histogram, quantiles, extremes); the moments come from the Gram "
        "either way");
  s.key("allpairs.bins", &Config::bins, "400", "histogram bins of cos θ over [-1, 1]").range(10, 1000000);
  s.key("allpairs.tile", &Config::tile, "2048", "tile edge of the all-pairs pass (columns per block)").range(64, 65536);
  s.key("gaussian.samples", &Config::samples, "20000",
        "n' = min(n, this) Gaussian vectors with the space's mean and covariance, run through the same statistics")
      .range(16, 10000000);
  s.key("abtt.components", &Config::abtt, "1, 2, 3, 5, 10",
        "all-but-the-top: numbers D of principal directions removed (D > d is skipped)")
      .range(1, 100000)
      .non_empty();
  s.key("central.count", &Config::central, "10", "most and least central tokens listed (by cos to the mean direction)")
      .range(1, 1000);
  s.key("central.k", &Config::k, "8", "neighbours shown for each listed token").range(1, 100);
  s.key("diagnostics.k", &Config::diag_k, "10",
        "k of the hubness N_k (how many rows have a row among their k nearest) and of CSLS's r (mean cos to the k "
        "nearest)")
      .range(1, 1000);
  s.key("diagnostics.csls", &Config::diag_csls, "false",
        "also the hubness of the CSLS neighbours (2cos(x, y) − r(x) − r(y); one more blocked top-k pass)");
  s.key("diagnostics.standardized", &Config::diag_standardized, "true",
        "also the rogue dimensions of the standardized cosine (each dimension z-scored before normalising)");
}

// Hubness, CSLS, rogue dimensions, intrinsic dimension and isotropy (linalg/diagnostics.hpp).
void diagnostics_section(const Config& c, Context& ctx, const io::WordLookup& names) {
  auto& md = *ctx.md;
  const auto& data = *ctx.data;
  const arma::fmat& U = data.unit;
  const arma::uword n = U.n_cols;
  md.heading(2, "Diagnostics: hubs, rogue dimensions, intrinsic dimension, isotropy");
  if (n < 3) {
    md.paragraph(fmt::format("Skipped: the diagnostics need at least 3 rows (got {}).", n));
    return;
  }
  linalg::DiagnosticsOptions o;
  o.k = static_cast<arma::uword>(c.diag_k);
  o.csls = c.diag_csls;
  o.standardized = c.diag_standardized;
  o.tile = static_cast<arma::uword>(c.tile);
  o.workers = ctx.threads;
  const auto pairs = static_cast<std::uint64_t>(n) * (n - 1) / 2;
  auto p1 = std::make_shared<Progress>("kNN (diagnostics)", pairs, "pairs");
  auto p2 = std::make_shared<std::unique_ptr<Progress>>();  // started with the CSLS pass
  o.progress = [p1](std::uint64_t done, std::uint64_t) { p1->update(done); };
  o.csls_progress = [p1, p2, pairs](std::uint64_t done, std::uint64_t) {
    if (!*p2) {
      p1->finish();
      *p2 = std::make_unique<Progress>("CSLS kNN (diagnostics)", pairs, "pairs");
    }
    (*p2)->update(done);
  };
  const linalg::Diagnostics g = linalg::diagnostics(U, data.emb.vectors, o);
  p1->finish();
  if (*p2) (*p2)->finish();

  auto& h5 = *ctx.h5;
  auto i64 = [](const arma::uvec& v) { return std::vector<std::int64_t>(v.begin(), v.end()); };
  h5.attr("/diagnostics", "k", static_cast<std::int64_t>(g.hubness.k));
  h5.attr("/diagnostics", "csls", static_cast<std::int64_t>(c.diag_csls));
  h5.attr("/diagnostics", "standardized", static_cast<std::int64_t>(c.diag_standardized));
  auto write_hubness = [&](const std::string& grp, const linalg::Hubness& h, const linalg::Knn& knn,
                           const std::string& by) {
    h5.attr(grp, "k", static_cast<std::int64_t>(h.k));
    h5.attr(grp, "skewness", h.skewness);
    h5.attr(grp, "antihub_share", h.antihub_share);
    h5.attr(grp, "hub_share", h.hub_share);
    h5.attr(grp, "robin_hood", h.robin_hood);
    h5.attr(grp, "rescanned_rows", static_cast<std::int64_t>(knn.rescanned));
    h5.write(grp + "/counts", i64(h.counts),
             {"rows", "N_k(x): rows having x among their k nearest by " + by + " (self excluded, ties: lower row)"});
  };
  write_hubness("/diagnostics/hubness", g.hubness, g.knn, "cosine");
  h5.write("/diagnostics/hubness/csls_r", g.csls_r, {"1", "r(x): mean cos of x to its k nearest rows (CSLS)"});
  if (g.csls_hubness) write_hubness("/diagnostics/hubness_csls", *g.csls_hubness, *g.csls_knn, "CSLS");
  auto write_rogue = [&](const std::string& grp, const linalg::RogueDimensions& r, const std::string& what) {
    h5.attr(grp, "mean_cosine", r.mean_cosine);
    h5.write(grp + "/contribution", r.contribution,
             {"1", "((Σ_i u_ij)² − Σ_i u_ij²)/(n(n−1)): dimension j's part of the mean " + what + " over pairs"});
    h5.write(grp + "/dims", i64(r.dims), {"1", "the 3 dimensions of largest contribution, descending"});
    h5.write(grp + "/share", r.share, {"1", "their contribution / mean " + what});
  };
  write_rogue("/diagnostics/rogue_dimensions", g.rogue, "cosine");
  if (g.rogue_standardized)
    write_rogue("/diagnostics/rogue_dimensions_standardized", *g.rogue_standardized, "standardized cosine");
  h5.attr("/diagnostics/intrinsic_dimension", "twonn", g.twonn.dimension);
  h5.attr("/diagnostics/intrinsic_dimension", "rows_used", static_cast<std::int64_t>(g.twonn.rows_used));
  h5.attr("/diagnostics/intrinsic_dimension", "rows_r1_zero", static_cast<std::int64_t>(g.twonn.rows_r1_zero));
  h5.write("/diagnostics/intrinsic_dimension/r1", g.twonn.r1, {"1", "‖û − v̂‖ to the nearest row (by cosine)"});
  h5.write("/diagnostics/intrinsic_dimension/r2", g.twonn.r2, {"1", "‖û − v̂‖ to the second nearest row"});
  h5.attr("/diagnostics/isotropy", "mu_viswanath", g.isotropy.mu);
  h5.attr("/diagnostics/isotropy", "isoscore", g.iso_score);
  h5.write("/diagnostics/isotropy/eigenvalues", g.isotropy.eigenvalues,
           {"1", "eigenvalues of WᵀW (raw rows), descending"});
  h5.write("/diagnostics/isotropy/log_z_plus", g.isotropy.log_z_plus,
           {"1", "log Σ_i exp(cᵀw_i) for each unit eigenvector c (log-sum-exp)"});
  h5.write("/diagnostics/isotropy/log_z_minus", g.isotropy.log_z_minus, {"1", "the same for −c"});

  const auto& h = g.hubness;
  auto dims = [](const linalg::RogueDimensions& r) {
    std::string s;
    for (arma::uword e = 0; e < r.dims.n_elem; ++e)
      s += fmt::format("{}{} ({})", e ? ", " : "", r.dims[e], report::num(r.share[e], 3));
    return s;
  };
  md.paragraph(fmt::format(
      "Over all n = {} unit rows (the n×n matrix is never formed): N_k(x) counts the rows that have x among their "
      "k = {} nearest by cosine, from one exact top-k pass (float tiles, candidates re-ranked in double; {} rows "
      "searched again). CSLS scores 2cos(x, y) − r(x) − r(y), r = mean cos to the k nearest (Conneau et al. 2018). "
      "Rogue dimensions: each dimension's share of the mean cosine (Timkey & van Schijndel 2021). TwoNN: Facco et "
      "al. 2017. μ: min_c Z(c)/max_c Z(c) over the ± unit eigenvectors of WᵀW, Z(c) = Σ exp(cᵀw) on the raw rows "
      "(Mu & Viswanath 2018; 1 = isotropic).",
      n, h.k, g.knn.rescanned));
  std::vector<std::vector<std::string>> rows{
      {"hubness: skewness of N_k", report::num(h.skewness),
       g.csls_hubness ? report::num(g.csls_hubness->skewness) : "—", "0 without hubs; > 1 strong hubness"},
      {"hubness: share of anti-hubs (N_k = 0)", report::num(h.antihub_share),
       g.csls_hubness ? report::num(g.csls_hubness->antihub_share) : "—", "rows nobody has as a neighbour"},
      {fmt::format("hubness: share of hubs (N_k > {})", 2 * h.k), report::num(h.hub_share),
       g.csls_hubness ? report::num(g.csls_hubness->hub_share) : "—", ""},
      {"hubness: Robin Hood index", report::num(h.robin_hood),
       g.csls_hubness ? report::num(g.csls_hubness->robin_hood) : "—", "share of k-occurrences to move for equal N_k"},
      {"rogue dimensions: top 3 (share of mean cos)", dims(g.rogue), "",
       fmt::format("mean cos {}", report::num(g.rogue.mean_cosine))},
  };
  if (g.rogue_standardized)
    rows.push_back({"rogue dimensions, standardized cosine", dims(*g.rogue_standardized), "",
                    fmt::format("mean cos {}", report::num(g.rogue_standardized->mean_cosine))});
  rows.push_back({"intrinsic dimension (TwoNN)", report::num(g.twonn.dimension), "",
                  fmt::format("{} rows with a duplicate (r1 = 0) left out", g.twonn.rows_r1_zero)});
  rows.push_back({"isotropy μ (Mu & Viswanath)", report::num(g.isotropy.mu), "", "1 = isotropic"});
  rows.push_back({"IsoScore", report::num(g.iso_score), "", "1 = isotropic"});
  md.table({"diagnostic", "cosine", "CSLS", "note"}, rows);

  // The strongest hubs, with their N_k under CSLS.
  const arma::uvec order = arma::stable_sort_index(h.counts, "descend");
  std::vector<std::vector<std::string>> hubs;
  for (arma::uword e = 0; e < std::min<arma::uword>(10, n); ++e) {
    const arma::uword i = order[e];
    hubs.push_back({std::to_string(i), fmt::format("'{}'", names.display(i)), std::to_string(h.counts[i]),
                    g.csls_hubness ? std::to_string(g.csls_hubness->counts[i]) : "—", report::num(g.csls_r[i])});
  }
  md.table({"row", "token", "N_k", "N_k (CSLS)", "r (mean cos to k nearest)"}, hubs);
}

struct CloudStats {
  std::string name;
  arma::uword n = 0;
  linalg::PairMoments moments;
  linalg::Anisotropy aniso;
  std::optional<linalg::AllPairsStats> pass;
};

CloudStats cloud_stats(const std::string& name, const arma::fmat& unit, const Config& c, int threads) {
  CloudStats s;
  s.name = name;
  s.n = unit.n_cols;
  const auto g = linalg::gram_stats(unit, nullptr, threads);
  s.moments = linalg::pair_moments(g);
  s.aniso = linalg::anisotropy(g);
  if (c.histogram) {
    linalg::AllPairsOptions o;
    o.bins = static_cast<arma::uword>(c.bins);
    o.tile = static_cast<arma::uword>(c.tile);
    o.workers = threads;
    const auto n = static_cast<std::uint64_t>(unit.n_cols);
    auto progress = std::make_shared<Progress>(fmt::format("all pairs ({})", name), n * (n - 1) / 2, "pairs");
    o.progress = [progress](std::uint64_t done, std::uint64_t) { progress->update(done); };
    s.pass = linalg::all_pairs(unit, o);
    progress->finish();
  }
  return s;
}

std::vector<double> densities(const linalg::AllPairsStats& a) {
  std::vector<double> out;
  const double w = 2.0 / static_cast<double>(a.counts.size()), n = static_cast<double>(a.n_pairs);
  for (const auto k : a.counts) out.push_back(static_cast<double>(k) / (n * w));
  return out;
}

// Beyond E and its unit copy (the runner's): the Gaussian baselines (n' samples: z and x in double,
// then float32 and unit copies), the all-pairs tiles, and the all-but-the-top copies of U.
void memory(const Config& c, const experiment::Shapes& shapes, std::vector<experiment::Allocation>& out) {
  if (!shapes.embeddings) return;
  const auto& e = *shapes.embeddings;
  const double n = static_cast<double>(e.rows), d = static_cast<double>(e.dim);
  const std::uint64_t ns = std::min<std::uint64_t>(e.rows, static_cast<std::uint64_t>(c.samples));
  out.push_back(
      {(8 + 8 + 4 + 4) * static_cast<double>(ns) * d,
       fmt::format("Gaussian baseline of {} samples: {} float64 twice, float32 twice", ns, experiment::dims(ns, e.dim)),
       "gaussian.samples"});
  if (c.histogram) {
    const double t = std::min<double>(static_cast<double>(c.tile), n);
    out.push_back({4 * t * t * std::max(shapes.workers, 1),
                   fmt::format("all-pairs tiles {}×{} float32, one per worker ({})", static_cast<std::uint64_t>(t),
                               static_cast<std::uint64_t>(t), shapes.workers),
                   "allpairs.tile"});
  }
  out.push_back({2 * 4 * n * d,
                 fmt::format("all-but-the-top copies of U, 2 × {} float32", experiment::dims(e.rows, e.dim)),
                 "embeddings.limit", "set or lower it"});
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  const auto& data = *ctx.data;
  const arma::fmat& U = data.unit;
  const arma::uword n = U.n_cols, d = U.n_rows;
  if (n < 2) throw Error(Exit::data, fmt::format("{}: need at least 2 rows (got {})", data.emb.source.path, n));
  const auto tok_dir = io::WordLookup::tokenizer_dir_for(data.emb.source);
  const io::WordLookup names(data.emb.tokens, tok_dir);
  report::Laps laps;

  // --- row norms --------------------------------------------------------------------------------
  {
    const arma::vec& norms = data.norms;
    const auto m = stats::Moments::of(norms);
    const double lo = norms.min(), hi = norms.max();
    stats::Histogram h(lo, hi > lo ? hi : lo + 1, static_cast<std::size_t>(c.norm_bins));
    h.add(norms);
    std::vector<double> edges, counts, centres;
    for (std::size_t b = 0; b <= h.bins(); ++b) edges.push_back(h.lo() + static_cast<double>(b) * h.bin_width());
    for (std::size_t b = 0; b < h.bins(); ++b) {
      counts.push_back(static_cast<double>(h.counts()[b]));
      centres.push_back(h.bin_lo(b) + h.bin_width() / 2);
    }
    const std::vector<double> levels = {0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1};
    std::vector<double> q;
    for (const double l : levels) q.push_back(stats::quantile(norms, l));
    ctx.h5->write("/norms/edges", edges, {"1", "bin edges of the row norms ‖x‖"});
    ctx.h5->write("/norms/counts", counts, {"rows", "rows per bin"});
    ctx.h5->write("/norms/quantile_levels", levels, {"1", "levels of /norms/quantiles"});
    ctx.h5->write("/norms/quantiles", q, {"1", "exact quantiles of the row norms (type 7)"});
    ctx.h5->attr("/norms", "mean", m.mean());
    ctx.h5->attr("/norms", "sd", m.sd());
    md.heading(2, "Row norms");
    std::vector<std::string> header{"mean", "sd"}, row{report::num(m.mean()), report::num(m.sd())};
    for (std::size_t i = 0; i < levels.size(); ++i) {
      header.push_back(fmt::format("q{:g}", 100 * levels[i]));
      row.push_back(report::num(q[i]));
    }
    md.table(header, {row});
    ctx.plots->embed(md,
                     ctx.plots->line_plot(
                         "norms", {"row norms ‖x‖", "‖x‖", "rows", false, false, {{"rows", centres, counts, "steps"}}}),
                     "Distribution of the row norms");
  }

  laps.lap("row norms");

  // --- all pairs: the space, Gaussians with its mean/covariance, the random baseline -------------
  const auto pca = linalg::pca(data.emb.vectors, true, ctx.threads);
  laps.lap("PCA of E (centred, double)");
  std::vector<CloudStats> clouds;
  clouds.push_back(cloud_stats("embeddings", U, c, ctx.threads));
  laps.lap(c.histogram ? "all pairs of E: Gram moments + histogram pass" : "all pairs of E: Gram moments");
  const arma::uword ns = std::min<arma::uword>(n, static_cast<arma::uword>(c.samples));
  {
    // The same statistics on n' Gaussian vectors: N(μ, C) keeps the mean direction, N(0, C) does not.
    Rng r1 = ctx.rng.child(1), r2 = ctx.rng.child(2);
    clouds.push_back(cloud_stats(
        "gaussian N(μ, C)", linalg::normalize_rows(linalg::gaussian_like(pca, ns, r1, true)).unit, c, ctx.threads));
    clouds.push_back(cloud_stats(
        "gaussian N(0, C)", linalg::normalize_rows(linalg::gaussian_like(pca, ns, r2, false)).unit, c, ctx.threads));
  }
  laps.lap(fmt::format("two Gaussian clouds of {} vectors: sampling + all pairs", ns));
  const double dd = static_cast<double>(d);
  md.heading(2, "All pairwise cosines against the baselines");
  md.paragraph(
      fmt::format("Moments are exact, from the d×d Gram of the unit vectors (never the n×n matrix); "
                  "{} The Gaussian clouds have n' = {} vectors with the embeddings' mean μ and covariance C "
                  "(from the PCA). Histogram quantiles are given ± one bin width ({}); those of the random "
                  "row are exact, from (1 + cos θ)/2 ~ Beta((d−1)/2, (d−1)/2).",
                  c.histogram ? "quantiles and extremes come from one blocked pass over all pairs." : "", ns,
                  fmt::format("{:g}", 2.0 / static_cast<double>(c.bins))));
  {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> src;
    std::vector<double> mean, var, q01, q50, q99, mean_pass;
    // A histogram quantile is an interpolation inside the bin holding its rank: it is within one bin
    // width of the exact quantile, so it is printed as q ± w, to the decimals of w.
    const double bin_w = 2.0 / static_cast<double>(c.bins);
    const int q_dec = stats::decimals_for_error(bin_w);
    const auto at_res = [&](double x) { return fmt::format("{:.{}f} ± {:.{}f}", x, q_dec, bin_w, q_dec); };
    for (const auto& s : clouds) {
      src.push_back(s.name);
      mean.push_back(s.moments.mean);
      var.push_back(s.moments.variance);
      const auto q = [&](double l) { return s.pass ? s.pass->quantile(l) : std::nan(""); };
      q01.push_back(q(0.01));
      q50.push_back(q(0.5));
      q99.push_back(q(0.99));
      mean_pass.push_back(s.pass ? s.pass->mean() : std::nan(""));
      rows.push_back({s.name, std::to_string(s.n), report::num(s.moments.mean), report::num(s.moments.variance),
                      report::num(dd * s.moments.variance), s.pass ? at_res(q(0.01)) : "—",
                      s.pass ? at_res(q(0.5)) : "—", s.pass ? at_res(q(0.99)) : "—",
                      s.pass ? report::num(s.pass->min.cos) : "—", s.pass ? report::num(s.pass->max.cos) : "—"});
    }
    // The random baseline's quantiles are exact: (1 + cos θ)/2 ~ Beta((d−1)/2, (d−1)/2).
    const double rq01 = d >= 2 ? stats::gaussian_cosine_quantile(d, 0.01) : std::nan("");
    const double rq50 = d >= 2 ? stats::gaussian_cosine_quantile(d, 0.5) : std::nan("");
    const double rq99 = d >= 2 ? stats::gaussian_cosine_quantile(d, 0.99) : std::nan("");
    rows.push_back({fmt::format("random N(0, I_{})", d), "∞", "0", report::num(1 / dd), "1", report::num(rq01),
                    report::num(rq50), report::num(rq99), "", ""});
    md.table({"vectors", "n", "mean cos", "Var cos", "d·Var", "q1%", "median", "q99%", "min", "max"}, rows);
    ctx.h5->write("/cosines/source", src, {"1", "the clouds compared: embeddings, N(μ, C), N(0, C)"});
    ctx.h5->write("/cosines/mean", mean, {"1", "mean cos θ over all pairs (exact, Gram moments)"});
    ctx.h5->write("/cosines/variance", var, {"1", "population variance of cos θ over all pairs (Gram moments)"});
    ctx.h5->write("/cosines/mean_pass", mean_pass,
                  {"1", "mean cos θ from the all-pairs pass (cross-check; NaN: no pass)"});
    ctx.h5->write("/cosines/q01", q01, {"1", "1% quantile of cos θ (histogram; NaN: no pass)"});
    ctx.h5->write("/cosines/median", q50, {"1", "median of cos θ (histogram; NaN: no pass)"});
    ctx.h5->write("/cosines/q99", q99, {"1", "99% quantile of cos θ (histogram; NaN: no pass)"});
    ctx.h5->attr("/cosines", "random_mean", 0.0);
    ctx.h5->attr("/cosines", "random_variance", 1 / dd);
    ctx.h5->attr("/cosines", "random_q01", rq01);
    ctx.h5->attr("/cosines", "random_median", rq50);
    ctx.h5->attr("/cosines", "random_q99", rq99);
    ctx.h5->attr("/cosines", "quantile_resolution", bin_w);
    ctx.h5->attr("/cosines", "gaussian_samples", static_cast<std::int64_t>(ns));
    const double e = clouds[0].moments.mean, gm = clouds[1].moments.mean, g0 = clouds[2].moments.mean;
    const double by_mean = e != 0 ? (gm - g0) / e : std::nan(""), by_gauss = e != 0 ? gm / e : std::nan("");
    ctx.h5->attr("/cosines", "share_explained_by_gaussian", by_gauss);
    ctx.h5->attr("/cosines", "share_explained_by_mean_direction", by_mean);
    md.paragraph(
        fmt::format("The embeddings' mean cosine {} is shifted from the random 0; a Gaussian with the same "
                    "mean and covariance reaches {} ({} of the shift), the same Gaussian without the mean "
                    "{}: the mean direction accounts for {} of the shift.",
                    report::num(e), report::num(gm), report::num(by_gauss), report::num(g0), report::num(by_mean)));
    if (c.histogram) {
      const auto& a = *clouds[0].pass;
      std::vector<double> edges, centres, expect;
      for (arma::uword b = 0; b <= a.counts.size(); ++b)
        edges.push_back(-1.0 + 2.0 * static_cast<double>(b) / a.counts.size());
      for (arma::uword b = 0; b < a.counts.size(); ++b) {
        const double x = a.bin_lo(b) + 1.0 / a.counts.size();
        centres.push_back(x);
        expect.push_back(std::sqrt(dd / (2 * std::numbers::pi)) * std::exp(-0.5 * dd * x * x));
      }
      ctx.h5->write("/cosines/edges", edges, {"1", "bin edges of cos θ over [-1, 1]"});
      const char* keys[] = {"counts", "gaussian_counts", "gaussian_centred_counts"};
      std::vector<report::Series> series;
      for (std::size_t i = 0; i < clouds.size(); ++i) {
        std::vector<std::int64_t> counts(clouds[i].pass->counts.begin(), clouds[i].pass->counts.end());
        ctx.h5->write(std::string("/cosines/") + keys[i], counts, {"pairs", "pairs per bin: " + clouds[i].name});
        series.push_back({clouds[i].name, centres, densities(*clouds[i].pass), "steps"});
      }
      series.push_back({fmt::format("N(0, 1/{})", d), centres, expect, "lines"});
      ctx.h5->write("/cosines/random_density", expect, {"1", "N(0, 1/d) density at the bin centres"});
      ctx.h5->attr("/cosines", "min", static_cast<double>(a.min.cos));
      ctx.h5->attr("/cosines", "max", static_cast<double>(a.max.cos));
      ctx.h5->attr("/cosines", "min_i", static_cast<std::int64_t>(a.min.i));
      ctx.h5->attr("/cosines", "min_j", static_cast<std::int64_t>(a.min.j));
      ctx.h5->attr("/cosines", "max_i", static_cast<std::int64_t>(a.max.i));
      ctx.h5->attr("/cosines", "max_j", static_cast<std::int64_t>(a.max.j));
      md.paragraph(fmt::format("Most similar pair: '{}' / '{}' ({}); least similar: '{}' / '{}' ({}).",
                               report::literal(names.display(a.max.i)), report::literal(names.display(a.max.j)),
                               report::num(a.max.cos), report::literal(names.display(a.min.i)),
                               report::literal(names.display(a.min.j)), report::num(a.min.cos)));
      ctx.plots->embed(
          md,
          ctx.plots->line_plot("cosine_histogram", {"cos θ over all pairs", "cos θ", "density", false, false, series}),
          "All-pairs cosine density of the embeddings, the two Gaussian clouds and N(0, 1/d)");
    }
  }

  laps.lap("tables and plots");

  // --- anisotropy -------------------------------------------------------------------------------
  {
    const auto& a = clouds[0].aniso;
    const double iso = n >= d && d >= 2 ? linalg::iso_score(data.emb.vectors, ctx.threads) : std::nan("");
    ctx.h5->attr("/anisotropy", "mean_cosine", a.mean_cosine);
    ctx.h5->attr("/anisotropy", "mean_unit_norm", a.mean_unit_norm);
    ctx.h5->attr("/anisotropy", "top_sv_share", a.top_sv_share);
    ctx.h5->attr("/anisotropy", "iso_score", iso);
    md.heading(2, "Anisotropy");
    md.table(
        {"", "embeddings", "N(μ, C)", "N(0, C)", "isotropic"},
        {{"mean cos θ", report::num(a.mean_cosine), report::num(clouds[1].aniso.mean_cosine),
          report::num(clouds[2].aniso.mean_cosine), "0"},
         {"‖mean of unit vectors‖", report::num(a.mean_unit_norm), report::num(clouds[1].aniso.mean_unit_norm),
          report::num(clouds[2].aniso.mean_unit_norm), "≈ 1/√n"},
         {"σ₁² / Σσ² (uncentred unit vectors)", report::num(a.top_sv_share), report::num(clouds[1].aniso.top_sv_share),
          report::num(clouds[2].aniso.top_sv_share), report::num(1 / dd)},
         {"IsoScore (raw vectors)", report::num(iso), "", "", "1"}});
  }

  // --- PCA spectrum -----------------------------------------------------------------------------
  {
    ctx.h5->write("/pca/shares", pca.shares, {"1", "σ_i² / Σσ² of the centred raw vectors, descending"});
    ctx.h5->write("/pca/variance", pca.variance, {"1", "variance along each principal direction"});
    ctx.h5->write("/pca/singular_values", pca.singular_values, {"1", "singular values of the centred d×n data"});
    const arma::vec cum = arma::cumsum(pca.shares);
    auto components_for = [&](double f) {
      return static_cast<std::int64_t>(std::find_if(cum.begin(), cum.end(), [&](double x) { return x >= f; }) -
                                       cum.begin() + 1);
    };
    ctx.h5->attr("/pca", "components_for_50pct", components_for(0.5));
    ctx.h5->attr("/pca", "components_for_90pct", components_for(0.9));
    md.heading(2, "PCA spectrum");
    md.paragraph(fmt::format("{} components explain 50% of the variance, {} explain 90% (of d = {}).",
                             components_for(0.5), components_for(0.9), d));
    std::vector<std::vector<std::string>> rows;
    for (arma::uword i = 0; i < std::min<arma::uword>(10, d); ++i)
      rows.push_back(
          {std::to_string(i + 1), report::num(pca.variance[i]), report::num(pca.shares[i]), report::num(cum[i])});
    md.table({"component", "variance", "share", "cumulative"}, rows);
    std::vector<double> x(d), y(pca.shares.begin(), pca.shares.end());
    std::iota(x.begin(), x.end(), 1.0);
    ctx.plots->embed(
        md,
        ctx.plots->line_plot(
            "pca_spectrum",
            {"PCA spectrum", "component", "share of variance", false, true, {{"share", x, y, "linespoints"}}}),
        "Share of variance per principal component (log scale)");
  }

  laps.lap("anisotropy (IsoScore)");

  diagnostics_section(c, ctx, names);
  laps.lap(c.diag_csls ? "diagnostics: kNN pass + CSLS pass, rogue dimensions, TwoNN, isotropy"
                       : "diagnostics: kNN pass, rogue dimensions, TwoNN, isotropy");

  // --- all-but-the-top --------------------------------------------------------------------------
  {
    std::vector<double> comps{0}, mean{clouds[0].moments.mean}, var{clouds[0].moments.variance};
    std::vector<std::vector<std::string>> rows{
        {"0 (" + data.transform + ")", report::num(mean[0]), report::num(var[0]), report::num(dd * var[0])}};
    const auto pu = linalg::pca(U, true, ctx.threads);  // one PCA of the unit rows serves every D
    for (const auto D : c.abtt) {
      if (static_cast<arma::uword>(D) > d) continue;
      linalg::NormalizeOptions no;
      no.source = fmt::format("all_but_the_top D = {}", D);
      const arma::fmat t = linalg::normalize_rows(linalg::all_but_the_top(U, pu, static_cast<arma::uword>(D)), no).unit;
      const auto pm = linalg::pair_moments(t, ctx.threads);
      comps.push_back(static_cast<double>(D));
      mean.push_back(pm.mean);
      var.push_back(pm.variance);
      rows.push_back(
          {std::to_string(D), report::num(pm.mean), report::num(pm.variance), report::num(dd * pm.variance)});
    }
    ctx.h5->write("/abtt/components", comps,
                  {"1", "D principal directions removed after subtracting the mean (0: before)"});
    ctx.h5->write("/abtt/mean_cosine", mean, {"1", "mean cos θ over all pairs after the transform"});
    ctx.h5->write("/abtt/variance", var, {"1", "variance of cos θ over all pairs after the transform"});
    md.heading(2, "Mean cosine before and after all-but-the-top");
    md.table({"D removed", "mean cos θ", "Var cos θ", "d·Var"}, rows);
  }

  laps.lap("all-but-the-top: transform + Gram moments per D");

  // --- most and least central tokens --------------------------------------------------------------
  {
    arma::vec centre(U.n_rows, arma::fill::zeros);  // Σ of the unit columns, summed in double (n terms)
    for (arma::uword j = 0; j < U.n_cols; ++j)
      for (arma::uword i = 0; i < U.n_rows; ++i) centre[i] += static_cast<double>(U(i, j));
    const arma::vec cm = linalg::cosines_to(U, centre);
    const arma::uvec order = arma::sort_index(cm, "descend");
    const arma::uword count = std::min<arma::uword>(static_cast<arma::uword>(c.central), n / 2);
    arma::uvec most = order.head(count), least = arma::reverse(order.tail(count));
    linalg::TopKOptions to;
    to.k = static_cast<arma::uword>(c.k);
    to.workers = ctx.threads;
    ctx.h5->write("/central/cos_to_mean", cm, {"1", "cos θ of every row with the mean direction of the unit vectors"});
    for (const auto& [group, ids] : {std::pair{"most", most}, std::pair{"least", least}}) {
      const auto top = linalg::topk_queries(U, ids, to);
      std::vector<std::int64_t> idv(ids.begin(), ids.end());
      std::vector<std::string> toks;
      std::vector<std::vector<std::string>> rows;
      for (arma::uword r = 0; r < ids.n_elem; ++r) {
        std::string list;
        for (arma::uword j = 0; j < top.ids.n_cols; ++j)
          list += fmt::format("{}'{}' {}", j ? ", " : "", names.display(top.ids(r, j)), report::num(top.cos(r, j), 3));
        toks.push_back(names.display(ids[r]));
        rows.push_back({std::to_string(ids[r]), fmt::format("'{}'", names.display(ids[r])), report::num(cm[ids[r]]),
                        report::num(data.norms[ids[r]]), list});
      }
      const std::string g = std::string("/central/") + group;
      ctx.h5->write(g + "/ids", idv, {"1", std::string(group) + " central rows, by cos θ to the mean direction"});
      ctx.h5->write(g + "/tokens", toks, {"1", "their token strings"});
      ctx.h5->write(g + "/neighbour_ids", arma::conv_to<arma::Mat<std::int64_t>>::from(top.ids),
                    {"1", "(rows, k) nearest neighbours of each listed row"});
      ctx.h5->write(g + "/neighbour_cosine", top.cos, {"1", "(rows, k) their cosines"});
      md.heading(2, fmt::format("The {} central tokens", group));
      md.table({"row", "token", "cos to mean", "‖x‖", "neighbours (cos θ)"}, rows);
    }
  }
  laps.lap("central tokens and their neighbours");
  laps.table(md);
  std::vector<std::string> stage;
  std::vector<double> seconds;
  for (const auto& [name, t] : laps.stages()) stage.push_back(name), seconds.push_back(t);
  ctx.h5->write("/meta/timing/stage", stage, {"1", "stages of the experiment, in order"});
  ctx.h5->write("/meta/timing/seconds", seconds, {"s", "wall time of each stage"});
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_vocab_geometry() {
  return std::make_unique<experiment::Declared<Config>>(
      "vocab_geometry", "the geometry of a whole vocabulary: norms, all-pairs cosines vs baselines, anisotropy, PCA",
      experiment::Stage::required, declare, run, memory);
}

}  // namespace embedlab::experiments
