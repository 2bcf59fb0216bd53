// position_embeddings: the geometry of GPT-2's learned position embeddings wpe (1024 × 768) — or of
// any matrix whose rows are positions: mean similarity against position offset and the block-averaged
// position-by-position cosine image (both from one tiled pass, never the n×n matrix), the cosine
// matrix of the first output.matrix_positions positions, the norm of each position's vector and the
// spectrum (eigenvalues of S from the d×d Gram: the same non-zero eigenvalues as the n×n S).
#include "core/threads.hpp"
#include "experiments/experiments.hpp"
#include "linalg/allpairs.hpp"
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
  std::int64_t matrix_positions = 0;
};

void declare(Schema<Config>& s) {
  s.key("heatmap.max_side", &Config::image_side, "256",
        "the cosine matrix is block-averaged to at most this many rows/columns for the image")
      .range(2, 4096);
  s.key("offsets.table", &Config::offsets, "1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1023",
        "position offsets listed in the report table (all offsets are in the HDF5)")
      .range(0, 1 << 20);
  s.key("output.matrix", &Config::write_matrix, "true",
        "write the cosine matrix of the first output.matrix_positions positions to the HDF5");
  s.key("output.matrix_positions", &Config::matrix_positions, "1024",
        "positions of the written cosine matrix (its m×m float64 is the only n²-sized allocation; the offset "
        "profile and the image are computed tiled for every position)")
      .range(2, 1 << 20);
}

// The one tiled pass's options for n positions.
linalg::OffsetCosineOptions pass_options(const Config& c, int workers) {
  linalg::OffsetCosineOptions o;
  o.image_side = static_cast<arma::uword>(c.image_side);
  o.workers = workers;
  return o;
}

void memory(const Config& c, const experiment::Shapes& shapes, std::vector<experiment::Allocation>& out) {
  if (!shapes.embeddings) return;
  const arma::uword n = shapes.embeddings->rows;
  out.push_back({linalg::offset_cosine_bytes(n, pass_options(c, shapes.workers), shapes.workers),
                 fmt::format("tiled offset profile and {}-pixel image of {} positions, {} workers",
                             std::min<arma::uword>(n, static_cast<arma::uword>(c.image_side)), n, shapes.workers),
                 "heatmap.max_side"});
  if (c.write_matrix) {
    const double m = static_cast<double>(std::min<std::uint64_t>(n, static_cast<std::uint64_t>(c.matrix_positions)));
    // S (m, m) and the writer's row-major copy
    out.push_back({2 * 8 * m * m,
                   fmt::format("cosine matrix of the first {} positions, {} float64 and its HDF5 copy",
                               static_cast<std::uint64_t>(m),
                               experiment::dims(static_cast<std::uint64_t>(m), static_cast<std::uint64_t>(m))),
                   "output.matrix_positions"});
  }
}

// G (d, d) = Σ_i x̂_i x̂_iᵀ with every column re-normalised in double (as the S of local_cosine,
// whose diagonal is exactly 1): S = X̂ᵀX̂ and G = X̂X̂ᵀ share their non-zero eigenvalues and trace n.
// Blocks of columns in a fixed order, single-threaded BLAS: the same bits for any thread count.
arma::mat unit_gram(const arma::fmat& U) {
  const arma::uword d = U.n_rows, n = U.n_cols;
  arma::mat G(d, d, arma::fill::zeros);
  const BlasSingleThread single;
  for (arma::uword a = 0; a < n; a += 4096) {
    arma::mat X = arma::conv_to<arma::mat>::from(U.cols(a, std::min(n, a + 4096) - 1));  // (d, block)
    for (arma::uword j = 0; j < X.n_cols; ++j) X.col(j) /= arma::norm(X.col(j));
    G += X * X.t();
  }
  return arma::symmatu(G);
}

void run(const Config& c, Context& ctx) {
  auto& md = *ctx.md;
  const auto& data = *ctx.data;
  const arma::uword n = data.unit.n_cols, d = data.unit.n_rows;
  if (n < 2) throw Error(Exit::data, fmt::format("{}: need at least 2 positions (got {})", data.emb.source.path, n));

  // One tiled pass over the pairs: S_ij by offset and block-averaged, never the n×n matrix.
  const auto prof = linalg::offset_cosine_stats(data.unit, pass_options(c, ctx.threads));
  const arma::mat& img = prof.image;
  if (c.write_matrix) {
    // S (m, m) of the first m positions, double, diagonal 1.
    const arma::uword m = std::min<arma::uword>(n, static_cast<arma::uword>(c.matrix_positions));
    const arma::mat S = linalg::local_cosine(data.unit, arma::regspace<arma::uvec>(0, m - 1));
    ctx.h5->write("/cosine/matrix", S,
                  {"1", fmt::format("S_ij = cos(wpe_i, wpe_j) for positions i, j < {} (output.matrix_positions)", m)});
    ctx.h5->attr("/cosine", "matrix_positions", static_cast<std::int64_t>(m));
  }
  ctx.h5->write("/cosine/downsampled", img, {"1", "S block-averaged to at most heatmap.max_side per side"});
  ctx.h5->attr("/cosine", "block", static_cast<std::int64_t>(prof.block));
  md.heading(2, "Cosine between positions");
  md.paragraph(fmt::format("{} positions × {} dimensions; the image averages blocks of {}×{} positions.", n, d,
                           prof.block, prof.block));
  ctx.plots->embed(
      md, ctx.plots->heatmap("cosine_matrix", "cos(wpe_i, wpe_j)", img),
      fmt::format("Position-by-position cosine ({}×{} image of the {}×{} matrix)", img.n_rows, img.n_cols, n, n));

  // Mean similarity against offset k = |i − j|.
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

  // Spectra: PCA of the raw vectors (centred) and eigenvalues of S = UᵀU, which are those of the
  // d×d Gram U Uᵀ (the other n − d eigenvalues of S are zero): min(n, d) values.
  {
    const auto pca = linalg::pca(data.emb.vectors, true, ctx.threads);
    auto eig = linalg::eigen_symmetric(unit_gram(data.unit));
    const arma::uword kept = std::min(d, n);
    eig.values = arma::vec(eig.values.head(kept));
    eig.shares = arma::vec(eig.shares.head(kept));
    ctx.h5->write("/spectrum/pca_shares", pca.shares, {"1", "σ_i² / Σσ² of the centred position vectors"});
    ctx.h5->write("/spectrum/pca_variance", pca.variance, {"1", "variance along each principal direction"});
    ctx.h5->write("/spectrum/cosine_eigenvalues", eig.values,
                  {"1", "the min(n, d) largest eigenvalues of S, descending (from the d×d Gram; the rest are 0)"});
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
      experiment::Stage::required, declare, run, memory);
}

}  // namespace embedlab::experiments
