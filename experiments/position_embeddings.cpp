// position_embeddings: the geometry of GPT-2's learned position embeddings wpe (1024 × 768) — the
// full position-by-position cosine matrix, mean similarity against position offset, the norm of
// each position's vector and the spectrum.
#include "experiments/experiments.hpp"
#include "linalg/cosine.hpp"
#include "linalg/probes.hpp"
#include "linalg/spectra.hpp"
#include "report/report.hpp"

#include <fmt/format.h>

#include <numeric>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config {
  std::int64_t image_side = 0;
  std::vector<std::int64_t> offsets;
  bool write_matrix = true;
};

void declare(Schema<Config>& s) {
  s.key("heatmap.max_side", &Config::image_side, "256",
        "the cosine matrix is block-averaged to at most this many rows/columns for the image")
      .range(2, 4096);
  s.key("offsets.table", &Config::offsets, "1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1023",
        "position offsets listed in the report table (all offsets are in the HDF5)")
      .range(0, 1 << 20);
  s.key("output.matrix", &Config::write_matrix, "true", "write the full n×n cosine matrix to the HDF5");
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  const auto& data = *ctx.data;
  const arma::uword n = data.unit.n_cols, d = data.unit.n_rows;
  if (n < 2) throw Error(Exit::data, fmt::format("{}: need at least 2 positions (got {})", data.emb.source.path, n));

  // S (n, n): cosines of every pair of positions, double, diagonal 1.
  const arma::mat S = linalg::local_cosine(data.unit, arma::regspace<arma::uvec>(0, n - 1));
  if (c.write_matrix) ctx.h5->write("/cosine/matrix", S, {"1", "S_ij = cos(wpe_i, wpe_j) for positions i, j"});
  const arma::mat img = linalg::block_average(S, static_cast<arma::uword>(c.image_side));
  ctx.h5->write("/cosine/downsampled", img, {"1", "S block-averaged to at most heatmap.max_side per side"});
  ctx.h5->attr("/cosine", "block", static_cast<std::int64_t>((n + img.n_rows - 1) / img.n_rows));
  md.heading(2, "Cosine between positions");
  md.paragraph(fmt::format("{} positions × {} dimensions; the image averages blocks of {}×{} positions.", n, d,
                           (n + img.n_rows - 1) / img.n_rows, (n + img.n_cols - 1) / img.n_cols));
  ctx.plots->embed(
      md, ctx.plots->heatmap("cosine_matrix", "cos(wpe_i, wpe_j)", img),
      fmt::format("Position-by-position cosine ({}×{} image of the {}×{} matrix)", img.n_rows, img.n_cols, n, n));

  // Mean similarity against offset k = |i − j|.
  const auto prof = linalg::offset_profile(S);
  ctx.h5->write("/offset/mean_cosine", prof.mean, {"1", "mean of cos(wpe_i, wpe_{i+k}) over i, index k = offset"});
  ctx.h5->write("/offset/sd_cosine", prof.sd, {"1", "population standard deviation of those cosines"});
  ctx.h5->write("/offset/pairs", arma::conv_to<std::vector<std::int64_t>>::from(prof.count),
                {"pairs", "number of position pairs at each offset (n − k)"});
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto k : c.offsets)
      if (static_cast<arma::uword>(k) < n)
        rows.push_back({std::to_string(k), report::num(prof.mean[static_cast<arma::uword>(k)]),
                        report::num(prof.sd[static_cast<arma::uword>(k)]),
                        std::to_string(n - static_cast<arma::uword>(k))});
    md.heading(2, "Mean similarity against position offset");
    md.table({"offset k", "mean cos", "sd", "pairs"}, rows);
    std::vector<double> x(n - 1), y(prof.mean.begin() + 1, prof.mean.end());
    std::iota(x.begin(), x.end(), 1.0);
    ctx.plots->embed(
        md,
        ctx.plots->line_plot(
            "offset_profile",
            {"mean cos(wpe_i, wpe_{i+k})", "offset k", "mean cos", false, false, {{"mean", x, y, "lines"}}}),
        "Mean cosine of positions k apart");
  }

  // Norm of each position's vector.
  {
    ctx.h5->write("/norms/norm", data.norms, {"1", "‖wpe_i‖ for each position i"});
    std::vector<double> x(n), y(data.norms.begin(), data.norms.end());
    std::iota(x.begin(), x.end(), 0.0);
    const arma::uword argmax = data.norms.index_max(), argmin = data.norms.index_min();
    ctx.h5->attr("/norms", "max_position", static_cast<std::int64_t>(argmax));
    ctx.h5->attr("/norms", "min_position", static_cast<std::int64_t>(argmin));
    md.heading(2, "Norm per position");
    md.table({"position 0", "mean", "min (position)", "max (position)", "last"},
             {{report::num(data.norms[0]), report::num(arma::mean(data.norms)),
               fmt::format("{} ({})", report::num(data.norms[argmin]), argmin),
               fmt::format("{} ({})", report::num(data.norms[argmax]), argmax), report::num(data.norms[n - 1])}});
    ctx.plots->embed(
        md, ctx.plots->line_plot("norms", {"‖wpe_i‖", "position i", "norm", false, false, {{"norm", x, y, "lines"}}}),
        "Norm of the position embedding per position");
  }

  // Spectra: PCA of the raw vectors (centred) and eigenvalues of S.
  {
    const auto pca = linalg::pca(data.emb.vectors, true, ctx.threads);
    const auto eig = linalg::eigen_symmetric(S);
    ctx.h5->write("/spectrum/pca_shares", pca.shares, {"1", "σ_i² / Σσ² of the centred position vectors"});
    ctx.h5->write("/spectrum/pca_variance", pca.variance, {"1", "variance along each principal direction"});
    ctx.h5->write("/spectrum/cosine_eigenvalues", eig.values, {"1", "eigenvalues of S, descending"});
    ctx.h5->write("/spectrum/cosine_shares", eig.shares, {"1", "λ_i / trace S"});
    const arma::vec cp = arma::cumsum(pca.shares), ce = arma::cumsum(eig.shares);
    md.heading(2, "Spectrum");
    std::vector<std::vector<std::string>> rows;
    for (arma::uword i = 0; i < std::min<arma::uword>(10, std::min(d, n)); ++i)
      rows.push_back({std::to_string(i + 1), report::num(pca.shares[i]), report::num(cp[i]), report::num(eig.values[i]),
                      report::num(eig.shares[i]), report::num(ce[i])});
    md.table({"i", "PCA share", "cumulative", "λ_i(S)", "share of trace S", "cumulative"}, rows);
    const arma::uword shown = std::min<arma::uword>(d, n);
    std::vector<double> x(shown), y1(pca.shares.begin(), pca.shares.begin() + static_cast<long>(shown)),
        y2(eig.shares.begin(), eig.shares.begin() + static_cast<long>(shown));
    std::iota(x.begin(), x.end(), 1.0);
    ctx.plots->embed(
        md,
        ctx.plots->line_plot("spectrum", {"spectra of the position embeddings",
                                          "component",
                                          "share",
                                          true,
                                          true,
                                          {{"PCA (centred)", x, y1, "lines"}, {"eigenvalues of S", x, y2, "lines"}}}),
        "Share of variance per principal component and of trace S per eigenvalue (log-log)");
  }
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_position_embeddings() {
  return std::make_unique<experiment::Declared<Config>>(
      "position_embeddings", "GPT-2 position embeddings: cosine by position and offset, norms, spectrum",
      experiment::Stage::required, declare, run);
}

}  // namespace embedlab::experiments
