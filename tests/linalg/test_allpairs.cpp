#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "linalg/allpairs.hpp"
#include "linalg/pass_kernel.hpp"
#include "naive.hpp"
#include "testing.hpp"

#include <cmath>
#include <cstring>

namespace tt = boost::test_tools;
using embedlab::test::Tol;
using namespace embedlab::linalg;

namespace {

struct NaivePairs {
  double mean = 0, variance = 0, sum = 0, sum_sq = 0;
  double min = 2, max = -2;
  arma::uword min_i = 0, min_j = 0, max_i = 0, max_j = 0;
  std::vector<double> sorted;
};

NaivePairs naive_pairs(const arma::fmat& U) {
  const arma::mat C = embedlab::test::naive_dots(U);
  NaivePairs r;
  for (arma::uword j = 0; j < C.n_cols; ++j)
    for (arma::uword i = 0; i < j; ++i) {
      const double c = C(i, j);
      r.sum += c;
      r.sum_sq += c * c;
      r.sorted.push_back(c);
      if (c > r.max) r.max = c, r.max_i = i, r.max_j = j;
      if (c < r.min) r.min = c, r.min_i = i, r.min_j = j;
    }
  const double p = static_cast<double>(r.sorted.size());
  r.mean = r.sum / p;
  r.variance = r.sum_sq / p - r.mean * r.mean;
  std::sort(r.sorted.begin(), r.sorted.end());
  return r;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void require_identical(const AllPairsStats& a, const AllPairsStats& b) {
  BOOST_TEST(a.counts == b.counts);
  BOOST_TEST(same_bits(a.sum, b.sum));
  BOOST_TEST(same_bits(a.sum_sq, b.sum_sq));
  BOOST_TEST(a.max.cos == b.max.cos);
  BOOST_TEST(a.max.i == b.max.i);
  BOOST_TEST(a.max.j == b.max.j);
  BOOST_TEST(a.min.cos == b.min.cos);
  BOOST_TEST(a.min.i == b.min.i);
  BOOST_TEST(a.min.j == b.min.j);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linalg_allpairs)

BOOST_AUTO_TEST_CASE(moments_and_pass_match_naive) {
  // n = 301 with tile 64: 5 tile rows, the last one partial.
  const arma::fmat U = embedlab::test::random_unit(24, 301, embedlab::test::kSeed);
  const NaivePairs ref = naive_pairs(U);

  const PairMoments m = pair_moments(U);
  BOOST_TEST(m.n_pairs == 301.0 * 300.0 / 2.0);
  BOOST_TEST(m.mean == ref.mean, tt::tolerance(Tol<double>::loose));
  BOOST_TEST(m.variance == ref.variance, tt::tolerance(Tol<double>::loose));

  AllPairsOptions o;
  o.tile = 64;
  o.bins = 200;
  const AllPairsStats s = all_pairs(U, o);
  BOOST_TEST(s.n_pairs == 301u * 300u / 2u);
  std::uint64_t total = 0;
  for (auto c : s.counts) total += c;
  BOOST_TEST(total == s.n_pairs);
  BOOST_TEST(s.mean() == ref.mean, tt::tolerance(Tol<float>::loose));
  BOOST_TEST(s.variance() == ref.variance, tt::tolerance(Tol<float>::loose));
  BOOST_TEST(s.max.cos == ref.max, tt::tolerance(Tol<float>::eps));
  BOOST_TEST(s.max.i == ref.max_i);
  BOOST_TEST(s.max.j == ref.max_j);
  BOOST_TEST(s.min.cos == ref.min, tt::tolerance(Tol<float>::eps));
  BOOST_TEST(s.min.i == ref.min_i);
  BOOST_TEST(s.min.j == ref.min_j);

  // Histogram vs naive binning: counts may move only across a bin edge (float vs double value).
  std::vector<std::int64_t> naive(o.bins, 0);
  for (double c : ref.sorted) ++naive[std::min<std::size_t>(o.bins - 1, static_cast<std::size_t>((c + 1.0) * 100.0))];
  std::int64_t moved = 0;
  for (std::size_t b = 0; b < o.bins; ++b) moved += std::abs(naive[b] - static_cast<std::int64_t>(s.counts[b]));
  BOOST_TEST(moved <= 4);

  // Quantiles within one bin width of the exact order statistics.
  for (double q : {0.01, 0.25, 0.5, 0.75, 0.99}) {
    const double exact = ref.sorted[static_cast<std::size_t>(q * (ref.sorted.size() - 1))];
    BOOST_TEST(std::abs(s.quantile(q) - exact) <= 2.0 / o.bins, "q=" << q);
  }
  BOOST_TEST(s.quantile(0.0) == ref.min, tt::tolerance(Tol<float>::eps));
  BOOST_TEST(s.quantile(1.0) == ref.max, tt::tolerance(Tol<float>::eps));
}

BOOST_AUTO_TEST_CASE(moments_cross_check_pass_sums) {
  const arma::fmat U = embedlab::test::random_unit(96, 1500, embedlab::test::kSeed + 2);
  const PairMoments m = pair_moments(U);
  AllPairsOptions o;
  o.tile = 256;
  const AllPairsStats s = all_pairs(U, o);
  // Both are sums over ~1.1e6 float-derived terms; the moments are exact in double.
  BOOST_TEST(s.sum == m.sum, tt::tolerance(Tol<float>::sum));
  BOOST_TEST(s.sum_sq == m.sum_sq, tt::tolerance(Tol<float>::sum));
  BOOST_TEST(s.mean() == m.mean, tt::tolerance(Tol<float>::loose));
}

BOOST_AUTO_TEST_CASE(hand_computed_square) {
  // four directions at 0°, 90°, 180°, 270°: cosines 0 (×4), -1 (×2)
  const arma::fmat U = {{1.0f, 0.0f, -1.0f, 0.0f}, {0.0f, 1.0f, 0.0f, -1.0f}};
  AllPairsOptions o;
  o.bins = 4;
  o.tile = 16;
  const AllPairsStats s = all_pairs(U, o);
  BOOST_TEST(s.n_pairs == 6u);
  BOOST_TEST((s.counts == std::vector<std::uint64_t>{2, 0, 4, 0}));
  BOOST_TEST(s.sum == -2.0);
  BOOST_TEST(s.sum_sq == 2.0);
  BOOST_TEST(s.min.cos == -1.0f);
  BOOST_TEST(s.min.i == 0u);
  BOOST_TEST(s.min.j == 2u);
  BOOST_TEST(s.max.cos == 0.0f);
  BOOST_TEST(s.max.i == 0u);
  BOOST_TEST(s.max.j == 1u);
  const PairMoments m = pair_moments(U);
  BOOST_TEST(m.mean == -1.0 / 3.0, tt::tolerance(Tol<double>::eps));
  BOOST_TEST(m.variance == 2.0 / 6.0 - 1.0 / 9.0, tt::tolerance(Tol<double>::eps));
}

BOOST_AUTO_TEST_CASE(duplicates_give_max_one_at_lowest_pair) {
  arma::fmat U = embedlab::test::random_unit(32, 200, embedlab::test::kSeed + 3);
  U.col(150) = U.col(40);
  U.col(90) = U.col(60);
  AllPairsOptions o;
  o.tile = 64;
  const AllPairsStats s = all_pairs(U, o);
  BOOST_TEST(static_cast<double>(s.max.cos) == 1.0, tt::tolerance(Tol<float>::eps));
  // the two duplicate pairs are the top; equal values go to the lower pair
  BOOST_TEST(((s.max.i == 40u && s.max.j == 150u) || (s.max.i == 60u && s.max.j == 90u)));
  // exact duplicates of a basis vector: cos exactly 1 for (40, 60), (40, 90), (60, 90): lower pair wins
  U.col(40).zeros();
  U(3, 40) = 1.0f;
  U.col(60) = U.col(40);
  U.col(90) = U.col(40);
  const AllPairsStats t = all_pairs(U, o);
  BOOST_TEST(t.max.i == 40u);
  BOOST_TEST(t.max.j == 60u);
  BOOST_TEST(s.counts.back() >= 2u);
}

// The pass's per-column step: the AVX2 path and the scalar path give the same bits, and both equal
// the definition (lane l = i mod 8 sums in row order, bin floor((c + 1) * bins / 2) capped at the
// top, clamping at ±1) on values at and beyond the clamp, signed zeros, bin edges and every length
// around the vector width; the lane sums start from earlier columns' values.
BOOST_AUTO_TEST_CASE(column_kernel_paths_agree_with_the_definition) {
  using namespace embedlab::linalg::detail;
  embedlab::Rng rng(embedlab::test::kSeed + 9);
  for (const std::size_t bins : {std::size_t{7}, std::size_t{2000}}) {
    const float scale = static_cast<float>(bins) / 2.0f;
    const int top = static_cast<int>(bins) - 1;
    for (std::size_t m = 0; m <= 41; m += (m < 20 ? 1 : 7)) {
      std::vector<float> c(m);
      for (std::size_t i = 0; i < m; ++i) {
        const float special[] = {1.0f, -1.0f, 1.0000001f, -1.5f, 3.0f, -0.0f, 0.0f, -1.0f + 2.0f / bins, 0.999999f};
        c[i] = i % 3 == 0 ? special[rng.next_u64() % 9] : static_cast<float>(rng.normal() * 0.3);
      }
      double want1[kLanes], want2[kLanes];
      std::vector<std::uint32_t> want_sub(kSubHists * bins, 0);
      float want_max = -std::numeric_limits<float>::infinity(), want_min = std::numeric_limits<float>::infinity();
      for (int l = 0; l < kLanes; ++l) want1[l] = want2[l] = 0.25 * l;
      for (std::size_t i = 0; i < m; ++i) {
        const float v = std::min(1.0f, std::max(-1.0f, c[i]));
        want1[i % kLanes] += v;
        want2[i % kLanes] += static_cast<double>(v) * v;
        ++want_sub[(i % kLanes % kSubHists) * bins + std::min<int>(top, static_cast<int>((v + 1.0f) * scale))];
        want_max = std::max(want_max, v);
        want_min = std::min(want_min, v);
      }
      struct Out {
        double s1[kLanes], s2[kLanes];
        std::vector<std::uint32_t> sub;
        float mx = 0, mn = 0;
      };
      Out out[2];
      for (const Isa isa : {Isa::best, Isa::scalar}) {
        Out& o = out[isa == Isa::best ? 0 : 1];
        for (int l = 0; l < kLanes; ++l) o.s1[l] = o.s2[l] = 0.25 * l;
        o.sub.assign(kSubHists * bins, 0);
        column_kernel(c.data(), m, scale, top, o.sub.data(), bins, o.s1, o.s2, &o.mx, &o.mn, isa);
        BOOST_TEST_CONTEXT("bins " << bins << ", m " << m << ", " << (isa == Isa::best ? "best" : "scalar")) {
          BOOST_TEST(std::memcmp(o.s1, want1, sizeof want1) == 0);
          BOOST_TEST(std::memcmp(o.s2, want2, sizeof want2) == 0);
          BOOST_TEST(o.sub == want_sub);
          BOOST_TEST(o.mx == want_max);  // == : the definition's first-seen ±0 may differ in sign
          BOOST_TEST(o.mn == want_min);
        }
      }
      BOOST_TEST_CONTEXT("bins " << bins << ", m " << m << ": best against scalar, bits") {
        BOOST_TEST(std::memcmp(&out[0].mx, &out[1].mx, sizeof(float)) == 0);
        BOOST_TEST(std::memcmp(&out[0].mn, &out[1].mn, sizeof(float)) == 0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bit_identical_across_workers_and_repeats) {
  const arma::fmat U = embedlab::test::random_unit(48, 700, embedlab::test::kSeed + 4);
  AllPairsOptions o;
  o.tile = 128;
  o.workers = 1;
  const AllPairsStats one = all_pairs(U, o);
  o.workers = 2;
  const AllPairsStats two = all_pairs(U, o);
  o.workers = 3;
  const AllPairsStats three = all_pairs(U, o);
  const AllPairsStats again = all_pairs(U, o);
  require_identical(one, two);
  require_identical(one, three);
  require_identical(three, again);
  const PairMoments m1 = pair_moments(U, 1), m2 = pair_moments(U, 2);
  BOOST_TEST(same_bits(m1.sum_sq, m2.sum_sq));
  BOOST_TEST(same_bits(m1.sum, m2.sum));
}

BOOST_AUTO_TEST_CASE(progress_reaches_total) {
  const arma::fmat U = embedlab::test::random_unit(16, 333, embedlab::test::kSeed + 5);
  AllPairsOptions o;
  o.tile = 100;
  std::uint64_t last = 0, total = 0, calls = 0;
  o.progress = [&](std::uint64_t done, std::uint64_t t) {
    BOOST_TEST(done >= last);
    last = done;
    total = t;
    ++calls;
  };
  all_pairs(U, o);
  BOOST_TEST(calls == 10u);  // 4 tile rows: 4 + 3 + 2 + 1 tiles
  BOOST_TEST(last == total);
  BOOST_TEST(total == 333u * 332u / 2u);
}

BOOST_AUTO_TEST_CASE(histogram_quantile_hand_computed) {
  // [0, 4) in 4 bins, values in bins 1 and 2: median at the shared edge 2, quartile mid-bin 1
  const std::vector<std::uint64_t> c = {0, 2, 2, 0};
  BOOST_TEST(histogram_quantile(c, 0, 4, 0.5) == 2.0);
  BOOST_TEST(histogram_quantile(c, 0, 4, 0.25) == 1.5);
  BOOST_TEST(histogram_quantile(c, 0, 4, 0.0) == 1.0);
  BOOST_TEST(histogram_quantile(c, 0, 4, 1.0) == 3.0);
  BOOST_TEST(std::isnan(histogram_quantile({0, 0}, 0, 1, 0.5)));
}

BOOST_AUTO_TEST_CASE(bad_arguments) {
  const arma::fmat one(4, 1, arma::fill::ones);
  BOOST_CHECK_THROW(all_pairs(one), embedlab::Error);
  arma::fmat U = embedlab::test::random_unit(4, 10, 1);
  AllPairsOptions o;
  o.bins = 0;
  BOOST_CHECK_THROW(all_pairs(U, o), embedlab::Error);
  U(0, 3) = NAN;
  BOOST_CHECK_THROW(all_pairs(U), embedlab::Error);
  BOOST_CHECK_THROW(pair_moments(U), embedlab::Error);
}

BOOST_AUTO_TEST_SUITE_END()
