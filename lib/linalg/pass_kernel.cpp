#include "linalg/pass_kernel.hpp"

#include <limits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace embedlab::linalg::detail {

namespace {

// The kLanes lanes of one column segment: lane l takes the rows i = l (mod kLanes) in row order —
// its double sums (carried from column to column over a tile), its max and min.
struct ColumnLanes {
  double s1[kLanes], s2[kLanes];
  float mx[kLanes], mn[kLanes];
};

// Rows [i, m) of c, one at a time: clamp, the lane's double sums, extremes and histogram bin.
void column_rows(const float* c, std::size_t i, std::size_t m, float scale, int top_bin, std::uint32_t* sub,
                 std::size_t stride, ColumnLanes& L) {
  for (; i < m; ++i) {
    const auto l = static_cast<std::size_t>(i % kLanes);
    const float v = clamp1(c[i]);
    const double dv = v;
    L.s1[l] += dv;
    L.s2[l] += dv * dv;
    L.mx[l] = v > L.mx[l] ? v : L.mx[l];
    L.mn[l] = v < L.mn[l] ? v : L.mn[l];
    const int b = static_cast<int>((v + 1.0f) * scale);
    ++sub[(l % kSubHists) * stride + static_cast<std::size_t>(b < top_bin ? b : top_bin)];
  }
}

// The filter's rows [i, m): one bit each, into the words of hits (clear before the first bit).
void hit_rows(const float* c, std::size_t i, std::size_t m, const float* thr, bool per_row, bool clamp,
              std::uint64_t* hits) {
  for (; i < m; ++i) {
    const float v = clamp ? clamp1(c[i]) : c[i];
    if (i % 64 == 0) hits[i / 64] = 0;
    if (v >= thr[per_row ? i : 0]) hits[i / 64] |= std::uint64_t{1} << (i % 64);
  }
}

#if defined(__x86_64__) || defined(__i386__)
// The same rows, kLanes at a time in AVX2 registers (the compiler keeps the scalar loop scalar:
// its clamps become branches). Every operation is the scalar one lane-wise — max/min with the
// operands in the order of the scalar ternaries, float → double, add and multiply with no FMA —
// so both paths give identical bits (tests/linalg/test_allpairs.cpp compares them).
__attribute__((target("avx2"))) void column_rows_avx2(const float* c, std::size_t m, float scale, int top_bin,
                                                      std::uint32_t* sub, std::size_t stride, ColumnLanes& L) {
  static_assert(kLanes == 8, "one __m256 of floats per step");
  __m256d a1lo = _mm256_loadu_pd(L.s1), a1hi = _mm256_loadu_pd(L.s1 + 4);
  __m256d a2lo = _mm256_loadu_pd(L.s2), a2hi = _mm256_loadu_pd(L.s2 + 4);
  __m256 mx = _mm256_loadu_ps(L.mx), mn = _mm256_loadu_ps(L.mn);
  const __m256 lo = _mm256_set1_ps(-1.0f), hi = _mm256_set1_ps(1.0f), sc = _mm256_set1_ps(scale);
  const __m256i top = _mm256_set1_epi32(top_bin);
  alignas(32) int bin[kLanes];
  std::size_t i = 0;
  for (; i + kLanes <= m; i += kLanes) {
    __m256 v = _mm256_max_ps(lo, _mm256_loadu_ps(c + i));  // (-1 > v) ? -1 : v
    v = _mm256_min_ps(hi, v);                              // (1 < v) ? 1 : v
    const __m256d dlo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d dhi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    a1lo = _mm256_add_pd(a1lo, dlo);
    a1hi = _mm256_add_pd(a1hi, dhi);
    a2lo = _mm256_add_pd(a2lo, _mm256_mul_pd(dlo, dlo));
    a2hi = _mm256_add_pd(a2hi, _mm256_mul_pd(dhi, dhi));
    mx = _mm256_max_ps(v, mx);  // (v > mx) ? v : mx
    mn = _mm256_min_ps(v, mn);  // (v < mn) ? v : mn
    const __m256i b = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_add_ps(v, hi), sc));
    _mm256_store_si256(reinterpret_cast<__m256i*>(bin), _mm256_min_epi32(b, top));
    for (int l = 0; l < kLanes; ++l) ++sub[static_cast<std::size_t>(l % kSubHists) * stride + bin[l]];
  }
  _mm256_storeu_pd(L.s1, a1lo);
  _mm256_storeu_pd(L.s1 + 4, a1hi);
  _mm256_storeu_pd(L.s2, a2lo);
  _mm256_storeu_pd(L.s2 + 4, a2hi);
  _mm256_storeu_ps(L.mx, mx);
  _mm256_storeu_ps(L.mn, mn);
  column_rows(c, i, m, scale, top_bin, sub, stride, L);
}

// The filter 64 rows at a time, 8 per AVX2 compare (the clamp as in column_rows_avx2).
__attribute__((target("avx2"))) void hit_mask_avx2(const float* c, std::size_t m, const float* thr, bool per_row,
                                                   bool clamp, std::uint64_t* hits) {
  const __m256 lo = _mm256_set1_ps(-1.0f), hi = _mm256_set1_ps(1.0f), t1 = _mm256_set1_ps(thr[0]);
  std::size_t i = 0;
  for (; i + 64 <= m; i += 64) {
    std::uint64_t word = 0;
    for (int s = 0; s < 8; ++s) {
      __m256 v = _mm256_loadu_ps(c + i + 8 * s);
      if (clamp) v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
      const __m256 t = per_row ? _mm256_loadu_ps(thr + i + 8 * s) : t1;
      const auto bits = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, t, _CMP_GE_OQ)));
      word |= static_cast<std::uint64_t>(bits) << (8 * s);
    }
    hits[i / 64] = word;
  }
  hit_rows(c, i, m, thr, per_row, clamp, hits);
}

bool have_avx2() {
  static const bool yes = [] {
    __builtin_cpu_init();  // safe whatever the order of static initialisation
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
}
#endif

}  // namespace

void column_kernel(const float* c, std::size_t m, float scale, int top_bin, std::uint32_t* sub, std::size_t stride,
                   double* s1, double* s2, float* col_max, float* col_min, Isa isa) {
  ColumnLanes L;
  for (int l = 0; l < kLanes; ++l) {
    L.s1[l] = s1[l];
    L.s2[l] = s2[l];
    L.mx[l] = -std::numeric_limits<float>::infinity();
    L.mn[l] = std::numeric_limits<float>::infinity();
  }
#if defined(__x86_64__) || defined(__i386__)
  if (isa == Isa::best && have_avx2())
    column_rows_avx2(c, m, scale, top_bin, sub, stride, L);
  else
#endif
    column_rows(c, 0, m, scale, top_bin, sub, stride, L);
  float a = L.mx[0], b = L.mn[0];
  for (int l = 0; l < kLanes; ++l) {
    s1[l] = L.s1[l];
    s2[l] = L.s2[l];
    a = L.mx[l] > a ? L.mx[l] : a;
    b = L.mn[l] < b ? L.mn[l] : b;
  }
  *col_max = a;
  *col_min = b;
}

bool hit_mask(const float* c, std::size_t m, const float* thr, bool per_row, bool clamp, std::uint64_t* hits, Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == Isa::best && have_avx2())
    hit_mask_avx2(c, m, thr, per_row, clamp, hits);
  else
#endif
    hit_rows(c, 0, m, thr, per_row, clamp, hits);
  std::uint64_t any = 0;
  for (std::size_t w = 0; w < (m + 63) / 64; ++w) any |= hits[w];
  return any != 0;
}

}  // namespace embedlab::linalg::detail
