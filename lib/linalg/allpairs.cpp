#include "linalg/allpairs.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/pass_kernel.hpp"
#include "linalg/ring.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>

namespace embedlab::linalg {

namespace {

using detail::clamp1;
using detail::kLanes;
using detail::kSubHists;

void check_finite(const arma::fmat& U, const char* what) {
  if (!U.is_finite()) data_error(what, "matrix", "non-finite entries (normalise with linalg::normalize_rows first)");
}

// Per-worker state of the histogram pass.
struct PassState {
  explicit PassState(arma::uword bins) : sub(static_cast<std::size_t>(bins) * kSubHists), counts(bins, 0) {}
  std::vector<std::uint32_t> sub;  // (kSubHists, bins), flushed into counts after each tile
  std::vector<std::uint64_t> counts;
  PairExtreme min{std::numeric_limits<float>::infinity(), 0, 0};
  PairExtreme max{-std::numeric_limits<float>::infinity(), 0, 0};
  bool any = false;
};

bool lower_pair(const PairExtreme& a, const PairExtreme& b) { return a.i < b.i || (a.i == b.i && a.j < b.j); }

void offer_max(PassState& s, const PairExtreme& e) {
  if (!s.any || e.cos > s.max.cos || (e.cos == s.max.cos && lower_pair(e, s.max))) s.max = e;
}
void offer_min(PassState& s, const PairExtreme& e) {
  if (!s.any || e.cos < s.min.cos || (e.cos == s.min.cos && lower_pair(e, s.min))) s.min = e;
}

}  // namespace

GramStats gram_stats(const arma::fmat& E, const arma::vec* center, int workers) {
  const arma::uword d = E.n_rows, n = E.n_cols;
  if (center && center->n_elem != d)
    fail(Exit::usage, "gram", "center", fmt::format("length mismatch (got {}, expected {})", center->n_elem, d));
  constexpr arma::uword kBlock = 1024;
  constexpr int kParts = 2;  // fixed partial sums, whatever the worker count
  struct Part {
    arma::mat g;
    arma::vec sum;
    double n2 = 0, n4 = 0;
  };
  std::vector<Part> parts(kParts);
  for (auto& p : parts) {
    p.g.zeros(d, d);
    p.sum.zeros(d);
  }
  const arma::uword blocks = (n + kBlock - 1) / kBlock;
  const int w = std::min(worker_count(workers), kParts);
  BlasSingleThread single;
  run_workers(w, [&](int worker) {
    arma::mat Y;  // (d, block) double copy of a block of columns
    for (int part = worker; part < kParts; part += w) {
      Part& p = parts[static_cast<std::size_t>(part)];
      for (arma::uword k = static_cast<arma::uword>(part); k < blocks; k += kParts) {
        const arma::uword a = k * kBlock, m = std::min(kBlock, n - a);
        Y = arma::conv_to<arma::mat>::from(E.cols(a, a + m - 1));
        if (center) Y.each_col() -= *center;
        for (arma::uword j = 0; j < m; ++j) {
          const double s = arma::dot(Y.col(j), Y.col(j));
          p.n2 += s;
          p.n4 += s * s;
        }
        p.sum += arma::sum(Y, 1);
        // G += Y Yᵀ (upper triangle)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, static_cast<int>(d), static_cast<int>(m), 1.0, Y.memptr(),
                    static_cast<int>(d), 1.0, p.g.memptr(), static_cast<int>(d));
      }
    }
  });
  GramStats out;
  out.n = n;
  out.gram = parts[0].g + parts[1].g;
  out.gram = arma::symmatu(out.gram);
  out.sum = parts[0].sum + parts[1].sum;
  out.sum_norm2 = parts[0].n2 + parts[1].n2;
  out.sum_norm4 = parts[0].n4 + parts[1].n4;
  return out;
}

PairMoments pair_moments(const GramStats& g) {
  PairMoments m;
  const double n = static_cast<double>(g.n);
  m.n_pairs = n * (n - 1.0) / 2.0;
  if (g.n < 2) return m;
  m.sum = (arma::dot(g.sum, g.sum) - g.sum_norm2) / 2.0;
  m.sum_sq = (arma::accu(arma::square(g.gram)) - g.sum_norm4) / 2.0;
  m.mean = m.sum / m.n_pairs;
  m.variance = std::max(0.0, m.sum_sq / m.n_pairs - m.mean * m.mean);
  return m;
}

PairMoments pair_moments(const arma::fmat& U, int workers) {
  check_finite(U, "pair_moments");
  return pair_moments(gram_stats(U, nullptr, workers));
}

double AllPairsStats::variance() const {
  if (!n_pairs) return 0.0;
  const double m = mean();
  return std::max(0.0, sum_sq / static_cast<double>(n_pairs) - m * m);
}

double histogram_quantile(const std::vector<std::uint64_t>& counts, double lo, double hi, double q) {
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0 || counts.empty()) return std::numeric_limits<double>::quiet_NaN();
  q = std::min(1.0, std::max(0.0, q));
  const double width = (hi - lo) / static_cast<double>(counts.size());
  const double target = q * static_cast<double>(total);
  double before = 0;
  std::size_t last_nonempty = 0;
  for (std::size_t b = 0; b < counts.size(); ++b) {
    if (!counts[b]) continue;
    last_nonempty = b;
    const double c = static_cast<double>(counts[b]);
    if (before + c >= target) return lo + width * (static_cast<double>(b) + (target - before) / c);
    before += c;
  }
  return lo + width * static_cast<double>(last_nonempty + 1);
}

double AllPairsStats::quantile(double q) const {
  const double v = histogram_quantile(counts, -1.0, 1.0, q);
  if (std::isnan(v)) return v;
  return std::min(static_cast<double>(max.cos), std::max(static_cast<double>(min.cos), v));
}

namespace {

// One rank's part of the histogram pass: its tiles' states and per-tile sums (global tile slots).
struct LocalPass {
  std::vector<PassState> states;
  std::vector<comm::Comm::Slot> s1, s2;  // (global tile index, Σ c) and (.., Σ c²) of this rank's tiles
  std::size_t n_tiles = 0;               // tiles of the whole pass
  double flops = 0;
};

// One tile of the pass: (I, J) with I <= J, its slot t in the whole tile list, and the columns of
// block I and block J (d values each, tile edge b).
struct TileJob {
  arma::uword I, J;
  std::size_t t;
  const float* pi;
  const float* pj;
};

// Progress shared by the calls of run_pass (ranks run their shares at the same time: scaled).
struct PassProgress {
  std::uint64_t done = 0, total = 0;
  double scale = 1;
};

void check_pass_options(const AllPairsOptions& options, arma::uword n) {
  if (n < 2) fail(Exit::usage, "all_pairs", "matrix", fmt::format("needs at least 2 columns (got {})", n));
  if (options.bins < 1 || options.bins > (1u << 24))
    fail(Exit::usage, "all_pairs", "bins", fmt::format("out of range (got {}, expected 1..16777216)", options.bins));
  if (options.tile < 16)
    fail(Exit::usage, "all_pairs", "tile", fmt::format("too small (got {}, expected >= 16)", options.tile));
}

// Runs `jobs` into lp: per-worker histogram states (created as needed), per-tile double sums into
// their global slots.
void run_pass(const std::vector<TileJob>& tiles, arma::uword d, arma::uword n, arma::uword b,
              const AllPairsOptions& options, LocalPass& lp, PassProgress& pp) {
  if (tiles.empty()) return;
  std::vector<double> tile_s1(tiles.size()), tile_s2(tiles.size());
  std::vector<PassState>& states = lp.states;
  double& flops = lp.flops;
  const int workers = std::max(1, std::min<int>(worker_count(options.workers), static_cast<int>(tiles.size())));
  while (states.size() < static_cast<std::size_t>(workers)) states.emplace_back(options.bins);

  const float scale = static_cast<float>(options.bins) / 2.0f;
  const int top_bin = static_cast<int>(options.bins) - 1;
  const std::size_t stride = options.bins;
  std::atomic<std::size_t> next{0};
  std::mutex progress_mu;

  BlasSingleThread single;
  run_workers(workers, [&](int worker) {
    PassState& st = states[static_cast<std::size_t>(worker)];
    std::vector<float> C(static_cast<std::size_t>(b) * b);  // (b, b) column-major tile
    double tile_flops = 0;
    for (std::size_t t = next++; t < tiles.size(); t = next++) {
      const arma::uword i0 = tiles[t].I * b, j0 = tiles[t].J * b;
      const arma::uword mi = std::min(b, n - i0), mj = std::min(b, n - j0);
      const bool diag = tiles[t].I == tiles[t].J;
      // C (mi, mj) = U(:, I)ᵀ U(:, J); on diagonal tiles only the upper triangle.
      if (diag) {
        cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, static_cast<int>(mi), static_cast<int>(d), 1.0f, tiles[t].pi,
                    static_cast<int>(d), 0.0f, C.data(), static_cast<int>(b));
        tile_flops += static_cast<double>(mi) * (mi + 1) * d;
      } else {
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(mi), static_cast<int>(mj),
                    static_cast<int>(d), 1.0f, tiles[t].pi, static_cast<int>(d), tiles[t].pj, static_cast<int>(d), 0.0f,
                    C.data(), static_cast<int>(b));
        tile_flops += 2.0 * mi * mj * d;
      }
      double s1[kLanes] = {}, s2[kLanes] = {};
      for (arma::uword j = diag ? 1 : 0; j < mj; ++j) {
        const float* col = C.data() + static_cast<std::size_t>(j) * b;
        const std::size_t m = diag ? j : mi;  // rows i < j on diagonal tiles
        float cmax, cmin;
        detail::column_kernel(col, m, scale, top_bin, st.sub.data(), stride, s1, s2, &cmax, &cmin);
        // Rarely taken: locate the first row attaining a column extreme that may win.
        if (!st.any || cmax >= st.max.cos) {
          for (std::size_t i = 0; i < m; ++i)
            if (clamp1(col[i]) == cmax) {
              offer_max(st, {cmax, i0 + i, j0 + j});
              break;
            }
        }
        if (!st.any || cmin <= st.min.cos) {
          for (std::size_t i = 0; i < m; ++i)
            if (clamp1(col[i]) == cmin) {
              offer_min(st, {cmin, i0 + i, j0 + j});
              break;
            }
        }
        st.any = true;
      }
      double a1 = 0, a2 = 0;
      for (int l = 0; l < kLanes; ++l) {
        a1 += s1[l];
        a2 += s2[l];
      }
      tile_s1[t] = a1;
      tile_s2[t] = a2;
      for (std::size_t bin = 0; bin < stride; ++bin) {
        std::uint64_t c = 0;
        for (int k = 0; k < kSubHists; ++k) {
          c += st.sub[k * stride + bin];
          st.sub[k * stride + bin] = 0;
        }
        st.counts[bin] += c;
      }
      const std::uint64_t pairs =
          diag ? static_cast<std::uint64_t>(mi) * (mi - 1) / 2 : static_cast<std::uint64_t>(mi) * mj;
      std::lock_guard<std::mutex> lock(progress_mu);
      pp.done += pairs;
      if (options.progress)
        options.progress(std::min(pp.total, static_cast<std::uint64_t>(static_cast<double>(pp.done) * pp.scale)),
                         pp.total);
    }
    std::lock_guard<std::mutex> lock(progress_mu);
    flops += tile_flops;
  });
  for (std::size_t t = 0; t < tiles.size(); ++t) {
    lp.s1.push_back({tiles[t].t, tile_s1[t]});
    lp.s2.push_back({tiles[t].t, tile_s2[t]});
  }
}

void all_pairs_local(const arma::fmat& U, const AllPairsOptions& options, const comm::Comm& comm, AllPairsStats& out,
                     LocalPass& lp) {
  const arma::uword d = U.n_rows, n = U.n_cols;
  check_pass_options(options, n);
  check_finite(U, "all_pairs");

  const arma::uword b = std::min(options.tile, n);
  const arma::uword nb = (n + b - 1) / b;
  // The whole tile list (fixed by n and the tile edge) and this rank's part of it.
  std::vector<TileJob> tiles;
  std::size_t t_all = 0;
  std::uint64_t local_pairs = 0;
  for (arma::uword I = 0; I < nb; ++I)
    for (arma::uword J = I; J < nb; ++J, ++t_all) {
      if (!comm::owns(comm, t_all)) continue;
      tiles.push_back({I, J, t_all, U.colptr(I * b), U.colptr(J * b)});
      const arma::uword mi = std::min(b, n - I * b), mj = std::min(b, n - J * b);
      local_pairs += I == J ? static_cast<std::uint64_t>(mi) * (mi - 1) / 2 : static_cast<std::uint64_t>(mi) * mj;
    }
  lp.n_tiles = t_all;
  out.n_pairs = static_cast<std::uint64_t>(n) * (n - 1) / 2;
  PassProgress pp;
  pp.total = out.n_pairs;
  pp.scale = local_pairs ? static_cast<double>(out.n_pairs) / static_cast<double>(local_pairs) : 1;
  run_pass(tiles, d, n, b, options, lp, pp);
  if (lp.states.empty()) lp.states.emplace_back(options.bins);
}

void offer_extremes(AllPairsStats& out, bool& any, const PairExtreme& mn, const PairExtreme& mx) {
  if (!any || mx.cos > out.max.cos || (mx.cos == out.max.cos && lower_pair(mx, out.max))) out.max = mx;
  if (!any || mn.cos < out.min.cos || (mn.cos == out.min.cos && lower_pair(mn, out.min))) out.min = mn;
  any = true;
}

// Combines the ranks' passes on every rank: exact count sums, tile sums in tile order, extremes by
// (value, lower pair) — none of it depends on which rank computed which tile.
void merge_pass(const comm::Comm& comm, const AllPairsOptions& options, const LocalPass& lp, AllPairsStats& out) {
  std::vector<std::uint64_t> counts(options.bins, 0);
  struct Extremes {
    PairExtreme min, max;
    std::uint64_t any;
  };
  Extremes mine{{}, {}, 0};
  bool any = false;
  AllPairsStats local;
  for (const auto& st : lp.states) {
    for (std::size_t bin = 0; bin < counts.size(); ++bin) counts[bin] += st.counts[bin];
    if (st.any) offer_extremes(local, any, st.min, st.max);
  }
  if (any) mine = {local.min, local.max, 1};
  out.counts = comm.sum(counts);
  any = false;
  for (const auto& b : comm.allgather(comm::pack(std::vector<Extremes>{mine}))) {
    const Extremes e = comm::unpack<Extremes>(b).at(0);
    if (e.any) offer_extremes(out, any, e.min, e.max);
  }
  const std::vector<double> s1 = comm.gather_slots(lp.s1, lp.n_tiles), s2 = comm.gather_slots(lp.s2, lp.n_tiles);
  for (std::size_t t = 0; t < lp.n_tiles; ++t) {
    out.sum += s1[t];
    out.sum_sq += s2[t];
  }
  out.local_flops = lp.flops;
  out.tile_flops = comm.sum_ordered(lp.flops);
}

}  // namespace

AllPairsStats all_pairs(const arma::fmat& U, const AllPairsOptions& options) {
  const comm::Comm& comm = comm::for_kernel(options.comm);
  AllPairsStats out;
  LocalPass lp;
  comm::fault_point(comm, false);
  // Validation and this rank's tiles; an error on any rank ends the call on every rank alike.
  comm.agree([&] {
    comm::fault_point(comm, true);
    all_pairs_local(U, options, comm, out, lp);
  });
  merge_pass(comm, options, lp, out);
  return out;
}

AllPairsStats all_pairs_rows(const arma::fmat& block, arma::uword n, const AllPairsOptions& options) {
  const comm::Comm& comm = comm::for_kernel(options.comm);
  AllPairsStats out;
  LocalPass lp;
  RowLayout l;
  const int r = comm.rank();
  comm::fault_point(comm, false);
  comm.agree([&] {
    comm::fault_point(comm, true);
    check_pass_options(options, n);
    l = row_layout(n, options.tile, comm.size());
    if (block.n_cols != l.rows(r))
      fail(Exit::software, "all_pairs_rows", "block",
           fmt::format("rank {} holds {} rows (expected {} of the layout)", r, block.n_cols, l.rows(r)));
    check_finite(block, "all_pairs");
  });
  const arma::uword d = block.n_rows, b = l.b, nb = l.nb;
  lp.n_tiles = static_cast<std::size_t>(nb) * (nb + 1) / 2;
  out.n_pairs = static_cast<std::uint64_t>(n) * (n - 1) / 2;
  auto slot = [nb](arma::uword I, arma::uword J) {
    return static_cast<std::size_t>(I * nb - I * (I - 1) / 2 + (J - I));  // row-major upper triangle
  };
  PassProgress pp;
  pp.total = out.n_pairs;
  pp.scale = comm.size();
  const arma::uword t0 = l.tile_lo(r), t1 = l.tile_lo(r + 1);
  comm.agree([&] {
    ring_visit(comm, l, block, [&](int q, const float* other, int parity) {
      const arma::uword u0 = l.tile_lo(q), u1 = l.tile_lo(q + 1);
      // Column of global tile T in the block that starts at tile `first`.
      auto col = [&](const float* base, arma::uword first, arma::uword T) {
        return base + static_cast<std::size_t>((T - first) * b) * d;
      };
      std::vector<TileJob> jobs;
      if (q == r) {
        for (arma::uword I = t0; I < t1; ++I)
          for (arma::uword J = I; J < t1; ++J)
            jobs.push_back({I, J, slot(I, J), col(block.memptr(), t0, I), col(block.memptr(), t0, J)});
      } else if (u0 > t0) {  // their tiles follow mine: (mine, theirs)
        for (arma::uword I = t0; I < t1; ++I)
          for (arma::uword J = u0; J < u1; ++J)
            jobs.push_back({I, J, slot(I, J), col(block.memptr(), t0, I), col(other, u0, J)});
      } else {  // theirs come first: (theirs, mine)
        for (arma::uword I = u0; I < u1; ++I)
          for (arma::uword J = t0; J < t1; ++J)
            jobs.push_back({I, J, slot(I, J), col(other, u0, I), col(block.memptr(), t0, J)});
      }
      if (parity >= 0)
        std::erase_if(jobs, [&](const TileJob& t) { return static_cast<int>((t.I + t.J) % 2) != parity; });
      run_pass(jobs, d, n, b, options, lp, pp);
    });
    if (lp.states.empty()) lp.states.emplace_back(options.bins);
  });
  merge_pass(comm, options, lp, out);
  return out;
}

namespace {
__extension__ typedef __int128 Fixed;   // sums of 2^-60 fixed-point cosines (|c| <= 1)
constexpr double kFixedScale = 0x1p60;  // up to 2^67 terms before the sum could overflow
inline std::int64_t to_fixed(double c) { return static_cast<std::int64_t>(c * kFixedScale); }
inline double from_fixed(Fixed v) { return static_cast<double>(v) / kFixedScale; }

arma::uword image_block(arma::uword n, arma::uword side) {
  return side == 0 ? n : std::max<arma::uword>(1, (n + side - 1) / side);
}
}  // namespace

double offset_cosine_bytes(arma::uword n, const OffsetCosineOptions& o, int workers) {
  const double b = static_cast<double>(std::min(std::max<arma::uword>(o.tile, 16), std::max<arma::uword>(n, 1)));
  const arma::uword blk = image_block(n, o.image_side), r = o.image_side ? (n + blk - 1) / blk : 0;
  const double per_worker = 2.0 * 16 * static_cast<double>(n) + 16.0 * static_cast<double>(r) * r + 8.0 * b * b;
  return std::max(workers, 1) * per_worker + 8.0 * static_cast<double>(r) * r + 24.0 * static_cast<double>(n);
}

OffsetCosineStats offset_cosine_stats(const arma::fmat& U, const OffsetCosineOptions& options) {
  const arma::uword n = U.n_cols, d = U.n_rows;
  if (n < 1 || d < 1) fail(Exit::usage, "offset_cosine_stats", "matrix", fmt::format("empty ({}x{})", d, n));
  if (options.tile < 16)
    fail(Exit::usage, "offset_cosine_stats", "tile", fmt::format("too small (got {}, expected >= 16)", options.tile));
  check_finite(U, "offset_cosine_stats");
  const arma::uword b = std::min(options.tile, n), nb = (n + b - 1) / b;
  const arma::uword blk = image_block(n, options.image_side);
  const arma::uword r = options.image_side ? (n + blk - 1) / blk : 0;
  struct Tile {
    arma::uword I, J;
  };
  std::vector<Tile> tiles;
  for (arma::uword I = 0; I < nb; ++I)
    for (arma::uword J = I; J < nb; ++J) tiles.push_back({I, J});
  const int workers = std::min<int>(worker_count(options.workers), static_cast<int>(tiles.size()));
  struct Acc {
    std::vector<Fixed> sum, sq, img;
  };
  std::vector<Acc> acc(static_cast<std::size_t>(workers));
  std::atomic<std::size_t> next{0};

  // Columns of one tile as unit vectors in double (d, m).
  const auto unit_block = [&](arma::uword j0, arma::uword m) {
    arma::mat X = arma::conv_to<arma::mat>::from(U.cols(j0, j0 + m - 1));
    for (arma::uword j = 0; j < m; ++j) {
      const double norm = arma::norm(X.col(j));
      if (!(norm > 0)) data_error("offset_cosine_stats", fmt::format("column {}", j0 + j), "zero vector");
      X.col(j) /= norm;
    }
    return X;
  };

  BlasSingleThread single;
  run_workers(workers, [&](int worker) {
    Acc& a = acc[static_cast<std::size_t>(worker)];
    a.sum.assign(n, 0);
    a.sq.assign(n, 0);
    a.img.assign(static_cast<std::size_t>(r) * r, 0);
    std::vector<arma::uword> pix_i(b), pix_j(b);
    for (std::size_t t = next++; t < tiles.size(); t = next++) {
      const arma::uword i0 = tiles[t].I * b, j0 = tiles[t].J * b;
      const arma::uword mi = std::min(b, n - i0), mj = std::min(b, n - j0);
      const bool diag = tiles[t].I == tiles[t].J;
      const arma::mat A = unit_block(i0, mi);
      const arma::mat C = diag ? arma::mat(A.t() * A) : arma::mat(A.t() * unit_block(j0, mj));  // (mi, mj)
      for (arma::uword i = 0; i < mi; ++i) pix_i[i] = (i0 + i) / blk;
      for (arma::uword j = 0; j < mj; ++j) pix_j[j] = (j0 + j) / blk;
      for (arma::uword j = 0; j < mj; ++j) {
        const double* col = C.colptr(j);
        const arma::uword gj = j0 + j, iend = diag ? j : mi;  // pairs i < j
        Fixed* img_col = r ? a.img.data() + pix_j[j] * r : nullptr;
        for (arma::uword i = 0; i < iend; ++i) {
          const double c = std::clamp(col[i], -1.0, 1.0);
          const std::int64_t f = to_fixed(c);
          const arma::uword k = gj - (i0 + i);
          a.sum[k] += f;
          a.sq[k] += to_fixed(c * c);
          if (img_col) img_col[pix_i[i]] += f;  // column pix_j, row pix_i: the upper block; mirrored below
        }
      }
    }
  });

  OffsetCosineStats out;
  out.mean.zeros(n);
  out.sd.zeros(n);
  out.count.set_size(n);
  out.block = blk;
  std::vector<Fixed> sum(n, 0), sq(n, 0), img(static_cast<std::size_t>(r) * r, 0);
  for (const auto& a : acc) {
    for (arma::uword k = 0; k < n; ++k) {
      sum[k] += a.sum[k];
      sq[k] += a.sq[k];
    }
    for (std::size_t p = 0; p < img.size(); ++p) img[p] += a.img[p];
  }
  for (arma::uword k = 0; k < n; ++k) {
    const double m = static_cast<double>(n - k);
    out.count[k] = n - k;
    if (k == 0) {  // the diagonal: cos(u_i, u_i) = 1
      out.mean[0] = 1.0;
      continue;
    }
    const double mean = from_fixed(sum[k]) / m;
    out.mean[k] = mean;
    out.sd[k] = std::sqrt(std::max(0.0, from_fixed(sq[k]) / m - mean * mean));
  }
  if (r) {
    // img holds, at (row p, column q), the sum over pairs i < j with i in block p and j in block q;
    // S is symmetric, so block (p, q) of S sums img(p, q) + img(q, p), plus the diagonal ones.
    out.image.set_size(r, r);
    const auto rows_in = [&](arma::uword p) { return std::min(n, (p + 1) * blk) - p * blk; };
    for (arma::uword q = 0; q < r; ++q)
      for (arma::uword p = 0; p < r; ++p) {
        Fixed total = img[q * r + p] + img[p * r + q];
        if (p == q) total += static_cast<Fixed>(rows_in(p)) * to_fixed(1.0);
        out.image(p, q) = from_fixed(total) / static_cast<double>(rows_in(p) * rows_in(q));
      }
  }
  return out;
}

}  // namespace embedlab::linalg
