#include "linalg/topk.hpp"

#include "core/error.hpp"
#include "core/threads.hpp"
#include "linalg/pass_kernel.hpp"
#include "linalg/ring.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>

namespace embedlab::linalg {

namespace {

// Bounded heaps, one per query row: (rows, k) entries, the root is the worst kept candidate.
class Heaps {
 public:
  Heaps(arma::uword rows, arma::uword k)
      : k_(k),
        cos_(static_cast<std::size_t>(rows) * k),
        id_(static_cast<std::size_t>(rows) * k),
        size_(rows, 0),
        thr_(rows, k ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity()) {}

  // Threshold per row: any candidate below it cannot enter (equal may, by id).
  const float* thresholds() const { return thr_.data(); }
  float threshold(arma::uword r) const { return thr_[r]; }

  void offer(arma::uword r, float c, arma::uword id) {
    float* hc = cos_.data() + static_cast<std::size_t>(r) * k_;
    arma::uword* hi = id_.data() + static_cast<std::size_t>(r) * k_;
    arma::uword& sz = size_[r];
    if (sz < k_) {
      // sift up
      std::size_t pos = sz++;
      while (pos > 0) {
        const std::size_t parent = (pos - 1) / 2;
        if (!worse(c, id, hc[parent], hi[parent])) break;
        hc[pos] = hc[parent];
        hi[pos] = hi[parent];
        pos = parent;
      }
      hc[pos] = c;
      hi[pos] = id;
    } else {
      if (!worse(hc[0], hi[0], c, id)) return;  // not better than the worst kept
      std::size_t pos = 0;
      while (true) {
        std::size_t child = 2 * pos + 1;
        if (child >= k_) break;
        if (child + 1 < k_ && worse(hc[child + 1], hi[child + 1], hc[child], hi[child])) ++child;
        if (!worse(hc[child], hi[child], c, id)) break;
        hc[pos] = hc[child];
        hi[pos] = hi[child];
        pos = child;
      }
      hc[pos] = c;
      hi[pos] = id;
    }
    if (sz == k_) thr_[r] = hc[0];
  }

  // Row r's entries sorted best first into ids(out_row, :) and cos(out_row, :).
  void emit(arma::uword r, arma::uword out_row, TopK& out) const {
    const std::size_t base = static_cast<std::size_t>(r) * k_;
    std::vector<std::size_t> order(size_[r]);
    std::iota(order.begin(), order.end(), base);
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return worse(cos_[b], id_[b], cos_[a], id_[a]); });
    for (std::size_t e = 0; e < order.size(); ++e) {
      out.ids(out_row, e) = id_[order[e]];
      out.cos(out_row, e) = cos_[order[e]];
    }
  }

  arma::uword size(arma::uword r) const { return size_[r]; }
  float cos_at(arma::uword r, arma::uword e) const { return cos_[static_cast<std::size_t>(r) * k_ + e]; }
  arma::uword id_at(arma::uword r, arma::uword e) const { return id_[static_cast<std::size_t>(r) * k_ + e]; }

  static bool worse(float ca, arma::uword ia, float cb, arma::uword ib) { return ca < cb || (ca == cb && ia > ib); }

 private:
  arma::uword k_;
  std::vector<float> cos_;
  std::vector<arma::uword> id_;
  std::vector<arma::uword> size_;
  std::vector<float> thr_;
};

using detail::clamp1;

// Column segment c[0, m) as candidate `id` for the heap rows r0 + i; self_of_row, when given, names
// each row's own id, which is skipped. hits: scratch of (m + 63) / 64 words. A row's threshold
// changes only when the row is offered, once per column, so the filter's bits are exact.
void feed_rows(Heaps& h, const float* c, std::size_t m, arma::uword r0, arma::uword id, const arma::uword* self_of_row,
               bool clamp, std::uint64_t* hits) {
  if (!detail::hit_mask(c, m, h.thresholds() + r0, true, clamp, hits)) return;
  for (std::size_t w = 0; w * 64 < m; ++w)
    for (std::uint64_t bits = hits[w]; bits != 0; bits &= bits - 1) {
      const std::size_t i = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      if (!(self_of_row && self_of_row[r0 + i] == id)) h.offer(r0 + i, clamp ? clamp1(c[i]) : c[i], id);
    }
}

// Column segment c[0, m) as candidates i0 + i for the single heap row r, 64 rows per filter step
// with the threshold of that moment (it only rises: each flagged candidate is checked again).
void feed_one(Heaps& h, const float* c, std::size_t m, arma::uword r, arma::uword i0, bool clamp) {
  for (std::size_t s = 0; s < m; s += 64) {
    std::uint64_t bits = 0;
    if (!detail::hit_mask(c + s, std::min<std::size_t>(64, m - s), h.thresholds() + r, false, clamp, &bits)) continue;
    for (; bits != 0; bits &= bits - 1) {
      const std::size_t i = s + static_cast<std::size_t>(std::countr_zero(bits));
      const float v = clamp ? clamp1(c[i]) : c[i];
      if (v >= h.threshold(r)) h.offer(r, v, i0 + i);
    }
  }
}

void check_args(const arma::fmat& U, const TopKOptions& o, const char* what) {
  if (o.k < 1) fail(Exit::usage, what, "k", "must be at least 1 (got 0)");
  if (o.tile < 16) fail(Exit::usage, what, "tile", fmt::format("too small (got {}, expected >= 16)", o.tile));
  if (!U.is_finite()) data_error(what, "matrix", "non-finite entries (normalise with linalg::normalize_rows first)");
  if (o.csls_r && o.csls_r->n_elem != U.n_cols)
    fail(Exit::usage, what, "csls_r",
         fmt::format("one entry per column (got {}, expected {})", o.csls_r->n_elem, U.n_cols));
  if (o.csls_r && !o.csls_r->is_finite()) fail(Exit::usage, what, "csls_r", "non-finite entries");
}

// CSLS scores in place: C(i, j) (column-major, leading dimension ld) becomes 2·clamp(C(i, j)) − ri[i] − rj[j]
// for the rows i < rows_of(j).
template <class RowsOf>
void to_csls(float* C, std::size_t ld, arma::uword mj, const float* ri, const float* rj, RowsOf rows_of) {
  for (arma::uword j = 0; j < mj; ++j) {
    float* c = C + static_cast<std::size_t>(j) * ld;
    const arma::uword m = rows_of(j);
    for (arma::uword i = 0; i < m; ++i) c[i] = 2.0f * clamp1(c[i]) - ri[i] - rj[j];
  }
}

}  // namespace

namespace {

// A heap entry on the wire (explicit padding: no uninitialised bytes are sent).
struct Candidate {
  std::uint64_t id;
  float cos;
  std::uint32_t pad;
};

// One tile (I <= J) of the all-rows search and the columns of its blocks I and J.
struct TopkJob {
  arma::uword I, J;
  const float* pi;
  const float* pj;
};

// Feeds `tiles` into `heaps` (n rows, global ids); block_mu has one mutex per tile row block.
void run_topk_tiles(const std::vector<TopkJob>& tiles, arma::uword d, arma::uword n, arma::uword b,
                    const TopKOptions& options, Heaps& heaps, std::mutex* block_mu, std::uint64_t& done,
                    double progress_scale) {
  if (tiles.empty()) return;
  const arma::fvec* csls = options.csls_r;
  std::mutex progress_mu;
  const std::uint64_t total = static_cast<std::uint64_t>(n) * (n - 1) / 2;
  std::atomic<std::size_t> next{0};
  const int workers = std::min<int>(worker_count(options.workers), static_cast<int>(tiles.size()));

  BlasSingleThread single;
  run_workers(workers, [&](int) {
    std::vector<float> C(static_cast<std::size_t>(b) * b);  // (b, b) column-major tile
    std::vector<std::uint64_t> hits((b + 63) / 64);         // the heaps' filter, one column
    for (std::size_t t = next++; t < tiles.size(); t = next++) {
      const arma::uword I = tiles[t].I, J = tiles[t].J;
      const arma::uword i0 = I * b, j0 = J * b;
      const arma::uword mi = std::min(b, n - i0), mj = std::min(b, n - j0);
      const bool diag = I == J;
      if (diag) {
        cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, static_cast<int>(mi), static_cast<int>(d), 1.0f, tiles[t].pi,
                    static_cast<int>(d), 0.0f, C.data(), static_cast<int>(b));
      } else {
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(mi), static_cast<int>(mj),
                    static_cast<int>(d), 1.0f, tiles[t].pi, static_cast<int>(d), tiles[t].pj, static_cast<int>(d), 0.0f,
                    C.data(), static_cast<int>(b));
      }
      if (csls)  // the CSLS score is symmetric too, so the one tile still feeds both sides
        to_csls(C.data(), b, mj, csls->memptr() + i0, csls->memptr() + j0,
                [&](arma::uword j) { return diag ? j : mi; });
      {
        // Both sides of each column while it is in cache: C(i, j) is a candidate j0 + j for row
        // i0 + i and a candidate i0 + i for row j0 + j. Locks are taken in ascending block order.
        std::unique_lock<std::mutex> row_lock(block_mu[I]), col_lock;
        if (!diag) col_lock = std::unique_lock<std::mutex>(block_mu[J]);
        for (arma::uword j = diag ? 1 : 0; j < mj; ++j) {
          const float* col = C.data() + static_cast<std::size_t>(j) * b;
          feed_rows(heaps, col, diag ? j : mi, i0, j0 + j, nullptr, !csls, hits.data());
          feed_one(heaps, col, diag ? j : mi, j0 + j, i0, !csls);
        }
      }
      std::lock_guard<std::mutex> lock(progress_mu);
      done += diag ? static_cast<std::uint64_t>(mi) * (mi - 1) / 2 : static_cast<std::uint64_t>(mi) * mj;
      if (options.progress)
        options.progress(std::min(total, static_cast<std::uint64_t>(static_cast<double>(done) * progress_scale)),
                         total);
    }
  });
}

// This rank's tiles of the all-rows search into `heaps` (n rows).
void topk_all_local(const arma::fmat& U, const TopKOptions& options, const comm::Comm& comm, arma::uword,
                    Heaps& heaps) {
  const arma::uword d = U.n_rows, n = U.n_cols;
  const arma::uword b = std::min(options.tile, n);
  const arma::uword nb = (n + b - 1) / b;
  std::vector<TopkJob> tiles;  // this rank's part of the whole tile list (fixed by n and the tile edge)
  std::uint64_t local_pairs = 0;
  std::size_t t_all = 0;
  for (arma::uword I = 0; I < nb; ++I)
    for (arma::uword J = I; J < nb; ++J, ++t_all) {
      if (!comm::owns(comm, t_all)) continue;
      tiles.push_back({I, J, U.colptr(I * b), U.colptr(J * b)});
      const arma::uword mi = std::min(b, n - I * b), mj = std::min(b, n - J * b);
      local_pairs += I == J ? static_cast<std::uint64_t>(mi) * (mi - 1) / 2 : static_cast<std::uint64_t>(mi) * mj;
    }
  if (tiles.empty()) return;
  const std::uint64_t total = static_cast<std::uint64_t>(n) * (n - 1) / 2;
  std::unique_ptr<std::mutex[]> block_mu(new std::mutex[nb]);
  std::uint64_t done = 0;
  run_topk_tiles(tiles, d, n, b, options, heaps, block_mu.get(), done,
                 local_pairs ? static_cast<double>(total) / static_cast<double>(local_pairs) : 1.0);
}

// Rows [row_lo(r), row_lo(r + 1)) are merged by rank r.
arma::uword row_lo(arma::uword n, int ranks, int r) {
  const arma::uword per = (n + static_cast<arma::uword>(ranks) - 1) / static_cast<arma::uword>(ranks);
  return std::min(n, per * static_cast<arma::uword>(r));
}

}  // namespace

namespace {
// The partial heaps of all ranks merged: every rank gets the whole (n, k) result.
TopK merge_heaps(const comm::Comm& comm, arma::uword n, arma::uword k, std::unique_ptr<Heaps>& heaps) {
  TopK out;
  out.ids.set_size(n, k);
  out.cos.set_size(n, k);
  if (k == 0) return out;
  if (!comm.distributed()) {
    for (arma::uword r = 0; r < n; ++r) heaps->emit(r, r, out);
    return out;
  }
  // Partial heaps to the owner of each row block: per row its entry count, then the entries.
  const int ranks = comm.size();
  std::vector<comm::Bytes> to(static_cast<std::size_t>(ranks));
  for (int dest = 0; dest < ranks; ++dest) {
    std::vector<std::uint64_t> sizes;
    std::vector<Candidate> cands;
    for (arma::uword r = row_lo(n, ranks, dest); r < row_lo(n, ranks, dest + 1); ++r) {
      sizes.push_back(heaps->size(r));
      for (arma::uword e = 0; e < heaps->size(r); ++e) cands.push_back({heaps->id_at(r, e), heaps->cos_at(r, e), 0});
    }
    to[static_cast<std::size_t>(dest)] = comm::pack(sizes, cands);
  }
  heaps.reset();
  const std::vector<comm::Bytes> from = comm.alltoall(to);
  to.clear();
  const arma::uword lo = row_lo(n, ranks, comm.rank()), hi = row_lo(n, ranks, comm.rank() + 1);
  Heaps merged(hi - lo, k);
  for (const comm::Bytes& b : from) {
    const std::size_t head = static_cast<std::size_t>(hi - lo) * sizeof(std::uint64_t);
    std::vector<std::uint64_t> sizes(hi - lo);
    if (head) std::memcpy(sizes.data(), b.data(), head);
    const std::size_t n_cands = (b.size() - head) / sizeof(Candidate);
    std::vector<Candidate> cands(n_cands);
    if (n_cands) std::memcpy(cands.data(), b.data() + head, n_cands * sizeof(Candidate));
    std::size_t at = 0;
    for (arma::uword r = 0; r < hi - lo; ++r)
      for (std::uint64_t e = 0; e < sizes[r]; ++e, ++at) merged.offer(r, cands[at].cos, cands[at].id);
  }
  // Every rank's final block to every rank.
  TopK block;
  block.ids.set_size(hi - lo, k);
  block.cos.set_size(hi - lo, k);
  for (arma::uword r = 0; r < hi - lo; ++r) merged.emit(r, r, block);
  const std::vector<comm::Bytes> all =
      comm.allgather(comm::pack(std::vector<arma::uword>(block.ids.begin(), block.ids.end()),
                                std::vector<float>(block.cos.begin(), block.cos.end())));
  for (int r = 0; r < ranks; ++r) {
    const arma::uword a = row_lo(n, ranks, r), m = row_lo(n, ranks, r + 1) - a;
    if (m == 0) continue;
    const comm::Bytes& b = all[static_cast<std::size_t>(r)];
    const arma::Mat<arma::uword> ids(reinterpret_cast<const arma::uword*>(b.data()), m, k);
    const arma::fmat cos(reinterpret_cast<const float*>(b.data() + m * k * sizeof(arma::uword)), m, k);
    out.ids.rows(a, a + m - 1) = ids;
    out.cos.rows(a, a + m - 1) = cos;
  }
  return out;
}

}  // namespace

TopK topk_all(const arma::fmat& U, const TopKOptions& options) {
  const comm::Comm& comm = comm::for_kernel(options.comm);
  const arma::uword n = U.n_cols;
  arma::uword k = 0;
  std::unique_ptr<Heaps> heaps;
  comm::fault_point(comm, false);
  // Validation and this rank's tiles; an error on any rank ends the call on every rank alike.
  comm.agree([&] {
    comm::fault_point(comm, true);
    check_args(U, options, "topk_all");
    k = std::min<arma::uword>(options.k, n ? n - 1 : 0);
    heaps = std::make_unique<Heaps>(n, k);
    if (k > 0) topk_all_local(U, options, comm, k, *heaps);
  });
  return merge_heaps(comm, n, k, heaps);
}

TopK topk_all_rows(const arma::fmat& block, arma::uword n, const TopKOptions& options) {
  const comm::Comm& comm = comm::for_kernel(options.comm);
  const int r = comm.rank();
  arma::uword k = 0;
  RowLayout l;
  std::unique_ptr<Heaps> heaps;
  comm::fault_point(comm, false);
  comm.agree([&] {
    comm::fault_point(comm, true);
    if (options.csls_r) fail(Exit::usage, "topk_all_rows", "csls_r", "CSLS is not supported with distribute = rows");
    check_args(block, options, "topk_all");
    l = row_layout(n, options.tile, comm.size());
    if (block.n_cols != l.rows(r))
      fail(Exit::software, "topk_all_rows", "block",
           fmt::format("rank {} holds {} rows (expected {} of the layout)", r, block.n_cols, l.rows(r)));
    k = std::min<arma::uword>(options.k, n ? n - 1 : 0);
    heaps = std::make_unique<Heaps>(n, k);
  });
  if (k > 0) {
    const arma::uword d = block.n_rows, b = l.b;
    const arma::uword t0 = l.tile_lo(r), t1 = l.tile_lo(r + 1);
    std::unique_ptr<std::mutex[]> block_mu(new std::mutex[std::max<arma::uword>(l.nb, 1)]);
    std::uint64_t done = 0;
    comm.agree([&] {
      ring_visit(comm, l, block, [&](int q, const float* other, int parity) {
        const arma::uword u0 = l.tile_lo(q), u1 = l.tile_lo(q + 1);
        auto col = [&](const float* base, arma::uword first, arma::uword T) {
          return base + static_cast<std::size_t>((T - first) * b) * d;
        };
        std::vector<TopkJob> jobs;
        if (q == r) {
          for (arma::uword I = t0; I < t1; ++I)
            for (arma::uword J = I; J < t1; ++J)
              jobs.push_back({I, J, col(block.memptr(), t0, I), col(block.memptr(), t0, J)});
        } else if (u0 > t0) {
          for (arma::uword I = t0; I < t1; ++I)
            for (arma::uword J = u0; J < u1; ++J) jobs.push_back({I, J, col(block.memptr(), t0, I), col(other, u0, J)});
        } else {
          for (arma::uword I = u0; I < u1; ++I)
            for (arma::uword J = t0; J < t1; ++J) jobs.push_back({I, J, col(other, u0, I), col(block.memptr(), t0, J)});
        }
        if (parity >= 0)
          std::erase_if(jobs, [&](const TopkJob& t) { return static_cast<int>((t.I + t.J) % 2) != parity; });
        run_topk_tiles(jobs, d, n, b, options, *heaps, block_mu.get(), done, comm.size());
      });
    });
  }
  return merge_heaps(comm, n, k, heaps);
}

TopK topk_queries(const arma::fmat& U, const arma::uvec& queries, const TopKOptions& options) {
  check_args(U, options, "topk_queries");
  const arma::uword d = U.n_rows, n = U.n_cols, q = queries.n_elem;
  for (arma::uword r = 0; r < q; ++r)
    if (queries[r] >= n)
      fail(Exit::usage, "topk_queries", fmt::format("query {}", r),
           fmt::format("token id out of range (got {}, expected < {})", queries[r], n));
  const arma::uword candidates = options.exclude_self ? (n ? n - 1 : 0) : n;
  const arma::uword k = std::min(options.k, candidates);
  TopK out;
  out.ids.set_size(q, k);
  out.cos.set_size(q, k);
  if (k == 0 || q == 0) return out;

  const arma::fmat Q = U.cols(queries);  // (d, q)
  const arma::uword b = std::min(options.tile, std::max(n, q));
  const arma::uword qb = (q + b - 1) / b, nb = (n + b - 1) / b;
  const std::size_t tiles = static_cast<std::size_t>(qb) * nb;

  Heaps heaps(q, k);
  const arma::fvec* csls = options.csls_r;
  arma::fvec rq;  // r of the queries, in query order
  if (csls) rq = csls->elem(queries);
  std::unique_ptr<std::mutex[]> block_mu(new std::mutex[qb]);
  std::mutex progress_mu;
  const std::uint64_t total = static_cast<std::uint64_t>(q) * n;
  std::uint64_t done = 0;
  std::atomic<std::size_t> next{0};
  const int workers = std::min<int>(worker_count(options.workers), static_cast<int>(tiles));
  const arma::uword* self = options.exclude_self ? queries.memptr() : nullptr;

  BlasSingleThread single;
  run_workers(workers, [&](int) {
    std::vector<float> C(static_cast<std::size_t>(b) * b);  // (b, b) column-major tile
    std::vector<std::uint64_t> hits((b + 63) / 64);         // the heaps' filter, one column
    for (std::size_t t = next++; t < tiles; t = next++) {
      const arma::uword I = t / nb, J = t % nb;
      const arma::uword i0 = I * b, j0 = J * b;
      const arma::uword mi = std::min(b, q - i0), mj = std::min(b, n - j0);
      // C (mi, mj) = Q(:, I)ᵀ U(:, J)
      cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(mi), static_cast<int>(mj),
                  static_cast<int>(d), 1.0f, Q.colptr(i0), static_cast<int>(d), U.colptr(j0), static_cast<int>(d), 0.0f,
                  C.data(), static_cast<int>(b));
      if (csls) to_csls(C.data(), b, mj, rq.memptr() + i0, csls->memptr() + j0, [&](arma::uword) { return mi; });
      {
        std::lock_guard<std::mutex> lock(block_mu[I]);
        for (arma::uword j = 0; j < mj; ++j)
          feed_rows(heaps, C.data() + static_cast<std::size_t>(j) * b, mi, i0, j0 + j, self, !csls, hits.data());
      }
      std::lock_guard<std::mutex> lock(progress_mu);
      done += static_cast<std::uint64_t>(mi) * mj;
      if (options.progress) options.progress(done, total);
    }
  });
  for (arma::uword r = 0; r < q; ++r) heaps.emit(r, r, out);
  return out;
}

}  // namespace embedlab::linalg
