// random_variance: cosines of random vector pairs against the 1/d law (lesson point 5), and, when
// [embeddings] is configured, the real embedding space at its own d against that baseline.
#include "comm/comm.hpp"
#include "experiments/experiments.hpp"
#include "report/report.hpp"
#include "stats/histogram.hpp"
#include "stats/moments.hpp"
#include "stats/random_cosine.hpp"

#include <fmt/format.h>
#include <boost/math/distributions/normal.hpp>

#include <cmath>
#include <cstring>
#include <numbers>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config {
  std::vector<std::int64_t> dims;
  std::int64_t pairs = 0;
  std::vector<std::string> distributions;
  double confidence = 0;
  std::int64_t histogram_dim = 0;
  std::int64_t histogram_bins = 0;
  std::int64_t real_pairs = 0;
};

void declare(Schema<Config>& s) {
  s.key("sweep.dims", &Config::dims, "2,4,8,16,32,64,128,256,512,1024,2048,4096,768",
        "dimensions d to sweep (comma-separated)")
      .range(1, 1 << 20)
      .non_empty();
  s.key("sweep.pairs", &Config::pairs, "100000", "random pairs per (distribution, d)").range(16, 1e9);
  s.key("sweep.distributions", &Config::distributions, "gaussian,sphere,rademacher",
        "random vector distributions to sample")
      .one_of({"gaussian", "sphere", "rademacher"})
      .non_empty();
  s.key("sweep.confidence", &Config::confidence, "0.95", "level of the confidence intervals").range(0.5, 0.9999);
  s.key("histogram.dim", &Config::histogram_dim, "768", "d at which the histogram of cos θ is drawn").range(1, 1 << 20);
  s.key("histogram.bins", &Config::histogram_bins, "120", "histogram bins over ±6 standard deviations (1/√d)")
      .range(10, 100000);
  s.key("real.pairs", &Config::real_pairs, "100000",
        "with [embeddings]: random pairs of distinct rows of the real matrix compared with the 1/d baseline")
      .range(16, 1e9);
}

struct Row {
  double d, mean, mean_lo, mean_hi, var, var_lo, var_hi, kurt;
};

Row summarise(const arma::vec& cos, double d, double level) {
  const auto m = stats::Moments::of(cos);
  const auto ci = stats::variance_ci(m, level);
  const double z = boost::math::quantile(boost::math::normal(), 0.5 + level / 2);
  const double half = z * m.sd() / std::sqrt(static_cast<double>(m.count()));
  return {d, m.mean(), m.mean() - half, m.mean() + half, m.variance(), ci.lo, ci.hi, m.excess_kurtosis()};
}

// The histogram of cos over ±6σ (σ = 1/√d).
stats::Histogram cos_histogram(double d, std::int64_t bins) {
  const double half = 6.0 / std::sqrt(d);
  return stats::Histogram(-std::min(1.0, half), std::min(1.0, half), static_cast<std::size_t>(bins));
}

// Histogram h of n cosines (counts, and `outside` of them out of range) with the N(0, 1/d) density
// at the bin centres.
void histogram_outputs(Context& ctx, const std::string& group, const stats::Histogram& h,
                       const std::vector<std::uint64_t>& hist_counts, std::uint64_t outside, double n, double d,
                       std::vector<double>& centres, std::vector<double>& density) {
  std::vector<double> edges, counts, expected;
  centres.clear();
  density.clear();
  const double w = h.bin_width();
  for (std::size_t b = 0; b <= h.bins(); ++b) edges.push_back(h.lo() + static_cast<double>(b) * w);
  for (std::size_t b = 0; b < h.bins(); ++b) {
    const double c = h.bin_lo(b) + w / 2;
    centres.push_back(c);
    counts.push_back(static_cast<double>(hist_counts[b]));
    density.push_back(static_cast<double>(hist_counts[b]) / (n * w));
    expected.push_back(std::sqrt(d / (2 * std::numbers::pi)) * std::exp(-0.5 * d * c * c));
  }
  ctx.h5->write(group + "/edges", edges, {"1", "bin edges of cos θ"});
  ctx.h5->write(group + "/counts", counts, {"pairs", "pairs per bin"});
  ctx.h5->write(group + "/density", density, {"1", "empirical density of cos θ per bin"});
  ctx.h5->write(group + "/expected_density", expected, {"1", "N(0, 1/d) density at the bin centres"});
  ctx.h5->attr(group, "d", d);
  ctx.h5->attr(group, "outside_range", static_cast<std::int64_t>(outside));
}

void histogram_outputs(Context& ctx, const std::string& group, const arma::vec& cos, double d, std::int64_t bins,
                       std::vector<double>& centres, std::vector<double>& density) {
  stats::Histogram h = cos_histogram(d, bins);
  h.add(cos);
  histogram_outputs(ctx, group, h, h.counts(), h.underflow() + h.overflow(), static_cast<double>(cos.n_elem), d,
                    centres, density);
}

// One (distribution, d) cell as computed on its rank: the summary row and, for the histogram cell,
// the bin counts and the out-of-range count.
struct Cell {
  Row row;
  std::vector<std::uint64_t> counts;
  std::uint64_t outside = 0;
};

// One cell's cosines (and the summary's working copy) at a time; the real space's pairs likewise.
void memory(const Config& c, const experiment::Shapes& shapes, std::vector<experiment::Allocation>& out) {
  out.push_back({2 * 8.0 * static_cast<double>(c.pairs),
                 fmt::format("{} random-pair cosines float64 per cell and a working copy", c.pairs), "sweep.pairs"});
  if (shapes.embeddings)
    out.push_back({2 * 8.0 * static_cast<double>(c.real_pairs),
                   fmt::format("{} real-pair cosines float64 and a working copy", c.real_pairs), "real.pairs"});
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  std::vector<report::Series> var_series, hist_series;
  std::vector<double> all_d;
  md.heading(2, "Variance of cos θ between random vectors against 1/d");
  md.paragraph(
      fmt::format("{} random pairs per cell; {:.0f}% confidence intervals (variance: asymptotic, "
                  "kurtosis-corrected). A flag marks cells whose interval misses 1/d.",
                  c.pairs, 100 * c.confidence));
  std::vector<std::vector<std::string>> rows;
  std::vector<double> sorted_dims(c.dims.begin(), c.dims.end());
  std::sort(sorted_dims.begin(), sorted_dims.end());
  sorted_dims.erase(std::unique(sorted_dims.begin(), sorted_dims.end()), sorted_dims.end());
  // The cells (distribution, d) in table order are independent: under mpirun each rank computes a
  // fixed block of them and every rank gathers them in cell order (the same bits as the serial run).
  const comm::Comm& comm = comm::for_kernel(nullptr);
  const std::size_t n_cells = c.distributions.size() * sorted_dims.size();
  const comm::Range mine = comm::block(comm, n_cells);
  std::vector<comm::Bytes> computed;
  comm.agree([&] {
    comm::fault_point(comm, true);
    for (std::size_t k = mine.begin; k < mine.end; ++k) {
      const std::string& name = c.distributions[k / sorted_dims.size()];
      const double d = sorted_dims[k % sorted_dims.size()];
      // Each (distribution, d) cell has its own stream: adding a cell never changes the others.
      const Rng cell =
          ctx.rng.child(std::hash<std::string>{}(name) ^ static_cast<std::uint64_t>(d) * 0x9E3779B97F4A7C15ULL);
      const arma::vec cos = stats::random_pair_cosines(stats::parse_distribution(name), static_cast<std::uint64_t>(d),
                                                       static_cast<std::uint64_t>(c.pairs), cell, ctx.threads);
      const Row r = summarise(cos, d, c.confidence);
      std::vector<std::uint64_t> counts;
      if (static_cast<std::int64_t>(d) == c.histogram_dim) {
        stats::Histogram h = cos_histogram(d, c.histogram_bins);
        h.add(cos);
        counts = h.counts();
        counts.push_back(h.underflow() + h.overflow());
      }
      computed.push_back(comm::pack(std::vector<Row>{r}, counts));
    }
  });
  const std::vector<comm::Bytes> cells = comm::gather_blocks(comm, computed, n_cells);
  std::size_t next_cell = 0;
  for (const auto& name : c.distributions) {
    std::vector<double> dv, mean, var, lo, hi, expected, kurt, dvar, mlo, mhi;
    std::vector<std::int64_t> flags;
    bool histogram_done = false;
    for (const double d : sorted_dims) {
      const comm::Bytes& cell = cells[next_cell++];
      Row r;
      std::memcpy(&r, cell.data(), sizeof r);
      std::vector<std::uint64_t> counts((cell.size() - sizeof r) / sizeof(std::uint64_t));
      if (!counts.empty()) std::memcpy(counts.data(), cell.data() + sizeof r, counts.size() * sizeof(std::uint64_t));
      const bool outside = 1.0 / d < r.var_lo || 1.0 / d > r.var_hi;
      dv.push_back(d);
      mean.push_back(r.mean);
      mlo.push_back(r.mean_lo);
      mhi.push_back(r.mean_hi);
      var.push_back(r.var);
      lo.push_back(r.var_lo);
      hi.push_back(r.var_hi);
      expected.push_back(1.0 / d);
      dvar.push_back(d * r.var);
      kurt.push_back(r.kurt);
      flags.push_back(outside ? 1 : 0);
      rows.push_back({name, fmt::format("{:.0f}", d), report::num(r.mean), report::num(r.var), report::num(1.0 / d),
                      report::num(d * r.var), fmt::format("[{}, {}]", report::num(r.var_lo), report::num(r.var_hi)),
                      report::num(r.kurt), outside ? "**outside**" : "ok"});
      if (static_cast<std::int64_t>(d) == c.histogram_dim && !histogram_done) {
        std::vector<double> centres, density;
        const std::uint64_t outside = counts.back();
        counts.pop_back();
        histogram_outputs(ctx, "/histogram/" + name, cos_histogram(d, c.histogram_bins), counts, outside,
                          static_cast<double>(c.pairs), d, centres, density);
        hist_series.push_back({name, centres, density, "steps"});
        if (hist_series.size() == 1) {
          std::vector<double> expect;
          for (double x : centres) expect.push_back(std::sqrt(d / (2 * std::numbers::pi)) * std::exp(-0.5 * d * x * x));
          hist_series.push_back({fmt::format("N(0, 1/{})", d), centres, expect, "lines"});
        }
        histogram_done = true;
      }
    }
    const std::string g = "/sweep/" + name;
    ctx.h5->write(g + "/d", dv, {"1", "dimension d"});
    ctx.h5->write(g + "/mean", mean, {"1", "mean of cos θ over the pairs"});
    ctx.h5->write(g + "/mean_ci_low", mlo, {"1", "lower end of the confidence interval of the mean"});
    ctx.h5->write(g + "/mean_ci_high", mhi, {"1", "upper end of the confidence interval of the mean"});
    ctx.h5->write(g + "/var", var, {"1", "sample variance of cos θ (n - 1 denominator)"});
    ctx.h5->write(g + "/var_ci_low", lo, {"1", "lower end of the confidence interval of the variance"});
    ctx.h5->write(g + "/var_ci_high", hi, {"1", "upper end of the confidence interval of the variance"});
    ctx.h5->write(g + "/expected_var", expected, {"1", "the exact variance 1/d"});
    ctx.h5->write(g + "/d_times_var", dvar, {"1", "d · Var(cos θ), ≈ 1"});
    ctx.h5->write(g + "/kurtosis", kurt, {"1", "excess kurtosis of cos θ"});
    ctx.h5->write(g + "/outside_ci", flags, {"1", "1 when 1/d falls outside the variance interval"});
    ctx.h5->attr(g, "pairs", c.pairs);
    ctx.h5->attr(g, "confidence", c.confidence);
    var_series.push_back({name, dv, var, "linespoints"});
    all_d = dv;
  }
  md.table({"distribution", "d", "mean", "Var(cos)", "1/d", "d·Var", "Var CI", "excess kurtosis", "1/d in CI"}, rows);
  std::vector<double> inv;
  for (double d : all_d) inv.push_back(1.0 / d);
  var_series.push_back({"1/d", all_d, inv, "lines"});
  ctx.plots->embed(md,
                   ctx.plots->line_plot("variance_vs_d", {"Var(cos θ) of random pairs against d", "d", "Var(cos θ)",
                                                          true, true, var_series}),
                   "Var(cos θ) against d (log-log) with the 1/d line");
  if (!hist_series.empty())
    ctx.plots->embed(md,
                     ctx.plots->line_plot("histogram", {fmt::format("cos θ at d = {}", c.histogram_dim), "cos θ",
                                                        "density", false, false, hist_series}),
                     fmt::format("Histogram of cos θ at d = {} against the N(0, 1/d) density", c.histogram_dim));

  if (ctx.data != nullptr) {  // the real space against its random baseline
    const auto& unit = ctx.data->unit;
    const std::uint64_t n = unit.n_cols, d = unit.n_rows;
    if (n < 2) throw Error(Exit::data, "real embeddings: need at least 2 rows to form pairs");
    Rng r = ctx.rng.child(0x5EA1);
    arma::vec cos(static_cast<arma::uword>(c.real_pairs));
    for (arma::uword p = 0; p < cos.n_elem; ++p) {
      const auto i = r.below(n);
      auto j = r.below(n - 1);
      if (j >= i) ++j;  // distinct rows
      double dot = 0;
      for (std::uint64_t k = 0; k < d; ++k) dot += static_cast<double>(unit(k, i)) * unit(k, j);
      cos(p) = std::clamp(dot, -1.0, 1.0);
    }
    const Row row = summarise(cos, static_cast<double>(d), c.confidence);
    std::vector<double> centres, density;
    histogram_outputs(ctx, "/real/histogram", cos, static_cast<double>(d), c.histogram_bins, centres, density);
    ctx.h5->attr("/real", "mean", row.mean);
    ctx.h5->attr("/real", "var", row.var);
    ctx.h5->attr("/real", "var_ci_low", row.var_lo);
    ctx.h5->attr("/real", "var_ci_high", row.var_hi);
    ctx.h5->attr("/real", "expected_var", 1.0 / static_cast<double>(d));
    ctx.h5->attr("/real", "pairs", c.real_pairs);
    md.heading(2, "The real embedding space against the random baseline");
    md.table({"", "mean cos θ", "Var(cos θ)", "d·Var", "Var CI"},
             {{fmt::format("real ({} rows, d = {})", n, d), report::num(row.mean), report::num(row.var),
               report::num(static_cast<double>(d) * row.var),
               fmt::format("[{}, {}]", report::num(row.var_lo), report::num(row.var_hi))},
              {"random baseline", "0", report::num(1.0 / static_cast<double>(d)), "1", ""}});
    std::vector<double> expect;
    for (double x : centres)
      expect.push_back(std::sqrt(static_cast<double>(d) / (2 * std::numbers::pi)) *
                       std::exp(-0.5 * static_cast<double>(d) * x * x));
    ctx.plots->embed(
        md,
        ctx.plots->line_plot("real_histogram", {"cos θ of random pairs of real rows",
                                                "cos θ",
                                                "density",
                                                false,
                                                false,
                                                {{"real", centres, density, "steps"},
                                                 {fmt::format("N(0, 1/{})", d), centres, expect, "lines"}}}),
        "Real cosines against the random N(0, 1/d) baseline");
  }
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_random_variance() {
  return std::make_unique<experiment::Declared<Config>>(
      "random_variance", "cosines of random vectors: Var(cos θ) ≈ 1/d, against a real space when configured",
      experiment::Stage::optional, declare, run, memory, experiment::Matrices::unit);
}

}  // namespace embedlab::experiments
