#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "linalg/pass_kernel.hpp"
#include "linalg/topk.hpp"
#include "naive.hpp"
#include "testing.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace tt = boost::test_tools;
using embedlab::test::Tol;
using namespace embedlab::linalg;

namespace {

// Tie-aware check of one result row against the naive double ranking: ids distinct and not self,
// cosines agree with the reference, the list is ordered, and nothing left out beats the k-th
// entry by more than the float tolerance.
void check_row(const TopK& r, arma::uword row, arma::uword self, const arma::mat& C, bool exclude_self) {
  const arma::uword k = r.ids.n_cols;
  const auto ranking = embedlab::test::naive_ranking(C, self, exclude_self);
  std::vector<bool> in(C.n_cols, false);
  for (arma::uword e = 0; e < k; ++e) {
    const arma::uword id = r.ids(row, e);
    BOOST_REQUIRE(id < C.n_cols);
    BOOST_TEST(!in[id]);
    in[id] = true;
    if (exclude_self) BOOST_TEST(id != self);
    BOOST_TEST(r.cos(row, e) == std::min(1.0, C(self, id)), tt::tolerance(Tol<float>::eps));
    if (e > 0) {
      BOOST_TEST(r.cos(row, e) <= r.cos(row, e - 1));
      if (r.cos(row, e) == r.cos(row, e - 1)) BOOST_TEST(r.ids(row, e) > r.ids(row, e - 1));
    }
  }
  const double kth = r.cos(row, k - 1);
  for (const auto& cand : ranking)
    if (!in[cand.id]) BOOST_TEST(cand.cos <= kth + Tol<float>::eps, "row " << row << " missed " << cand.id);
}

bool identical(const TopK& a, const TopK& b) {
  return arma::all(arma::vectorise(a.ids == b.ids)) && arma::approx_equal(a.cos, b.cos, "absdiff", 0.0f);
}

// d = 16 entries ±1/4: unit vectors whose dot products are exact multiples of 1/16 in any
// summation order, so the float kernel and the reference agree bit for bit and ties abound.
arma::fmat sign_vectors(arma::uword n, std::uint64_t seed) {
  embedlab::Rng rng(seed);
  arma::fmat U(16, n);
  for (auto& x : U) x = rng.below(2) ? 0.25f : -0.25f;
  return U;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linalg_topk)

BOOST_AUTO_TEST_CASE(all_rows_matches_naive) {
  // n = 517 with tile 64: partial last tile; duplicates create exact top ties.
  arma::fmat U = embedlab::test::random_unit(20, 517, embedlab::test::kSeed);
  U.col(300) = U.col(12);
  U.col(301) = U.col(12);
  const arma::mat C = embedlab::test::naive_dots(U);
  TopKOptions o;
  o.tile = 64;
  const TopK r = topk_all(U, o);
  BOOST_TEST(r.ids.n_rows == 517u);
  BOOST_TEST(r.ids.n_cols == 10u);
  for (arma::uword i = 0; i < U.n_cols; ++i) check_row(r, i, i, C, true);
  // the duplicates find each other first, lower id first
  BOOST_TEST(r.ids(12, 0) == 300u);
  BOOST_TEST(r.ids(12, 1) == 301u);
  BOOST_TEST(r.ids(300, 0) == 12u);
  BOOST_TEST(r.ids(300, 1) == 301u);
  BOOST_TEST(r.ids(301, 0) == 12u);
  BOOST_TEST(r.ids(301, 1) == 300u);
}

BOOST_AUTO_TEST_CASE(exact_ties_identical_to_naive) {
  const arma::fmat U = sign_vectors(300, embedlab::test::kSeed + 1);
  const arma::mat C = embedlab::test::naive_dots(U);
  TopKOptions o;
  o.tile = 48;
  o.k = 7;
  const TopK r = topk_all(U, o);
  for (arma::uword i = 0; i < U.n_cols; ++i) {
    const auto ranking = embedlab::test::naive_ranking(C, i);
    for (arma::uword e = 0; e < o.k; ++e) {
      BOOST_TEST(r.ids(i, e) == ranking[e].id);
      BOOST_TEST(r.cos(i, e) == ranking[e].cos);
    }
  }
}

BOOST_AUTO_TEST_CASE(independent_of_workers_and_tile) {
  const arma::fmat U = sign_vectors(400, embedlab::test::kSeed + 2);
  TopKOptions o;
  o.tile = 64;
  o.workers = 1;
  const TopK a = topk_all(U, o);
  o.workers = 3;
  const TopK b = topk_all(U, o);
  o.tile = 4096;
  const TopK c = topk_all(U, o);
  BOOST_TEST(identical(a, b));
  BOOST_TEST(identical(a, c));  // exact dot products: the tile size cannot matter
  const arma::fmat R = embedlab::test::random_unit(40, 333, embedlab::test::kSeed + 3);
  o.tile = 50;
  o.workers = 1;
  const TopK d = topk_all(R, o);
  o.workers = 2;
  BOOST_TEST(identical(d, topk_all(R, o)));
  BOOST_TEST(identical(d, topk_all(R, o)));
}

BOOST_AUTO_TEST_CASE(fewer_rows_than_k) {
  const arma::fmat U = embedlab::test::random_unit(8, 5, embedlab::test::kSeed + 4);
  const TopK r = topk_all(U);
  BOOST_TEST(r.ids.n_rows == 5u);
  BOOST_TEST(r.ids.n_cols == 4u);
  const arma::mat C = embedlab::test::naive_dots(U);
  for (arma::uword i = 0; i < 5; ++i) check_row(r, i, i, C, true);
  const TopK q = topk_queries(U, {2}, TopKOptions{});
  BOOST_TEST(q.ids.n_cols == 4u);
  TopKOptions keep;
  keep.exclude_self = false;
  BOOST_TEST(topk_queries(U, {2}, keep).ids.n_cols == 5u);
  const TopK single = topk_all(U.cols(0, 0));
  BOOST_TEST(single.ids.n_rows == 1u);
  BOOST_TEST(single.ids.n_cols == 0u);
}

BOOST_AUTO_TEST_CASE(queries_match_naive_and_all_rows) {
  arma::fmat U = embedlab::test::random_unit(20, 450, embedlab::test::kSeed + 5);
  U.col(200) = U.col(7);
  const arma::mat C = embedlab::test::naive_dots(U);
  const arma::uvec queries = {7, 0, 449, 200, 7};
  TopKOptions o;
  o.tile = 64;
  const TopK r = topk_queries(U, queries, o);
  BOOST_TEST(r.ids.n_rows == 5u);
  for (arma::uword e = 0; e < queries.n_elem; ++e) check_row(r, e, queries[e], C, true);
  BOOST_TEST(r.ids(0, 0) == 200u);
  BOOST_TEST(r.ids(3, 0) == 7u);
  o.exclude_self = false;
  const TopK s = topk_queries(U, queries, o);
  for (arma::uword e = 0; e < queries.n_elem; ++e) check_row(s, e, queries[e], C, false);
  // self included: token 7 and its duplicate 200 tie at cos 1, the lower id first
  BOOST_TEST(s.ids(0, 0) == 7u);
  BOOST_TEST(s.ids(0, 1) == 200u);
  BOOST_TEST(s.ids(3, 0) == 7u);
  BOOST_TEST(s.ids(3, 1) == 200u);
  // exact arithmetic: queries and the all-rows search agree exactly
  const arma::fmat S = sign_vectors(200, embedlab::test::kSeed + 6);
  const arma::uvec all = arma::regspace<arma::uvec>(0, 199);
  TopKOptions t;
  t.tile = 32;
  BOOST_TEST(identical(topk_all(S, t), topk_queries(S, all, t)));
}

BOOST_AUTO_TEST_CASE(heap_filter_paths_agree_with_the_definition) {
  // The filter in front of the heaps: bit i set exactly when v(c[i]) >= t, v = clamp1 or identity,
  // t per row or one for the segment; both instruction paths, lengths across the 64-row words.
  using namespace embedlab::linalg::detail;
  embedlab::Rng rng(embedlab::test::kSeed + 12);
  const float inf = std::numeric_limits<float>::infinity();
  const float special[] = {1.0f, -1.0f, 1.0000001f, -1.0000001f, -1.5f, 3.0f, -0.0f, 0.0f, 0.25f, -inf};
  for (std::size_t m = 0; m <= 200; m += (m < 70 ? 1 : 13)) {
    std::vector<float> c(m), t(std::max<std::size_t>(m, 1));
    for (std::size_t i = 0; i < m; ++i) {
      c[i] = i % 3 == 0 ? special[rng.next_u64() % 9] : static_cast<float>(rng.normal() * 0.5);
      t[i] = i % 4 == 0 ? special[rng.next_u64() % 10] : (i % 4 == 1 ? c[i] : static_cast<float>(rng.normal() * 0.5));
    }
    if (m == 0) t[0] = 0.0f;
    for (const bool per_row : {true, false})
      for (const bool clamp : {true, false}) {
        std::vector<std::uint64_t> want((m + 63) / 64, 0);
        for (std::size_t i = 0; i < m; ++i) {
          const float v = clamp ? std::min(1.0f, std::max(-1.0f, c[i])) : c[i];
          if (v >= t[per_row ? i : 0]) want[i / 64] |= std::uint64_t{1} << (i % 64);
        }
        bool want_any = false;
        for (const std::uint64_t w : want) want_any = want_any || w != 0;
        for (const Isa isa : {Isa::best, Isa::scalar}) {
          std::vector<std::uint64_t> got((m + 63) / 64, ~std::uint64_t{0});  // stale bits must be cleared
          const bool any = hit_mask(c.data(), m, t.data(), per_row, clamp, got.data(), isa);
          BOOST_TEST_CONTEXT("m " << m << ", per_row " << per_row << ", clamp " << clamp << ", "
                                  << (isa == Isa::best ? "best" : "scalar")) {
            BOOST_TEST(got == want, tt::per_element());
            BOOST_TEST(any == want_any);
          }
        }
      }
  }
}

BOOST_AUTO_TEST_CASE(bad_arguments) {
  const arma::fmat U = embedlab::test::random_unit(4, 10, 1);
  TopKOptions o;
  o.k = 0;
  BOOST_CHECK_THROW(topk_all(U, o), embedlab::Error);
  BOOST_CHECK_THROW(topk_queries(U, {10}, TopKOptions{}), embedlab::Error);
  arma::fmat V = U;
  V(1, 1) = INFINITY;
  BOOST_CHECK_THROW(topk_all(V), embedlab::Error);
}

BOOST_AUTO_TEST_SUITE_END()
