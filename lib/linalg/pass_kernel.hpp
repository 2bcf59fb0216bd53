#pragma once
// The per-column steps of the tile passes — the all-pairs histogram (linalg/allpairs.cpp) and the
// top-k heaps' filter (linalg/topk.cpp) — on their own so that the tests can run both instruction
// paths on the same inputs and require the same bits.

#include <cstddef>
#include <cstdint>

namespace embedlab::linalg::detail {

constexpr int kLanes = 8;     // fixed accumulation lanes: the summation order never changes
constexpr int kSubHists = 4;  // interleaved sub-histograms break the store→load chain on one bin

// The pass's clamp of a cosine to [-1, 1] (the scalar form every path reproduces).
inline float clamp1(float v) { return v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v); }

enum class Isa { best, scalar };  // best: AVX2 where the CPU has it (identical bits), else scalar

// One column segment c[0, m) of a tile: each value clamped to [-1, 1]; lane l = i mod kLanes adds
// it in double to s1[l] and its square to s2[l] (the tile's running lane sums, in row order);
// ++sub[(l mod kSubHists) * stride + min(int((v + 1) * scale), top_bin)]; the segment's max and
// min (−inf / +inf when m = 0).
void column_kernel(const float* c, std::size_t m, float scale, int top_bin, std::uint32_t* sub, std::size_t stride,
                   double* s1, double* s2, float* col_max, float* col_min, Isa isa = Isa::best);

// The top-k step's filter over one column segment c[0, m): bit i % 64 of hits[i / 64] is set when
// v >= t, where v = clamp1(c[i]) (c[i] itself when !clamp) and t = thr[i] (per_row) or thr[0];
// the other bits are cleared. hits holds (m + 63) / 64 words. Returns whether any bit is set.
bool hit_mask(const float* c, std::size_t m, const float* thr, bool per_row, bool clamp, std::uint64_t* hits,
              Isa isa = Isa::best);

}  // namespace embedlab::linalg::detail
