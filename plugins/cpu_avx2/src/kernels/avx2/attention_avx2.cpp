// AVX2 attention kernels over cache rows addressed by byte offsets (the paged block table already resolved), for
// the query heads that share one kv head. Rows are walked in blocks of 64 that stay in L1 while every head of the
// group uses them. Scores: 8 rows at a time, one 8-lane FMA accumulator per row, then a transposing reduction that
// yields the 8 dot products in one vector. Weighted sum: 64-element pieces of each head's output in registers while
// a row block streams by. A head's arithmetic depends only on (n, hd), so a query gives the same bits in any batch.
#include "../kernel_table.hpp"
#include "avx2_common.hpp"

namespace aprhost::cpu::avx2 {
#include "../kernel_decls.inc"

namespace {

// 8 elements of a cache row at element d as f32.
template <bool F16>
static inline __m256 load_row8(const uint8_t* row, int64_t d) {
    if constexpr (F16) {
        return load_f16x8(reinterpret_cast<const uint16_t*>(row) + d);
    } else {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + d);
    }
}

template <bool F16>
static inline float row_elem(const uint8_t* row, int64_t d) {
    if constexpr (F16) {
        return h2f(reinterpret_cast<const uint16_t*>(row)[d]);
    } else {
        return reinterpret_cast<const float*>(row)[d];
    }
}

// [Σ lanes of a0, …, Σ lanes of a7] as one vector.
static inline __m256 transpose_sum8(const __m256 a[8]) {
    const __m256 s01 = _mm256_hadd_ps(a[0], a[1]), s23 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 s45 = _mm256_hadd_ps(a[4], a[5]), s67 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
    // lanes: [0123 lo | 0123 hi] and [4567 lo | 4567 hi] → add the halves.
    const __m256 lo = _mm256_permute2f128_ps(s0123, s4567, 0x20), hi = _mm256_permute2f128_ps(s0123, s4567, 0x31);
    return _mm256_add_ps(lo, hi);
}

// Rows per block: a block of K or V rows (≤ 64 × 512 B) stays in L1 while every query head of the group uses it.
constexpr int64_t kRowBlock = 64;

// Scores of one head for rows [i0, i1) (i0 a multiple of 8 from the start, so the 8-row grouping is fixed by n).
template <bool F16>
static inline void scores_rows(const float* q, const uint8_t* base, const int64_t* off, int64_t i0, int64_t i1,
                               int64_t n, int64_t hd, __m256 vscale, float scale, float* s) {
    const int64_t hd8 = hd / 8 * 8;
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8) {
        __m256 acc[8];
        for (int r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
        for (int64_t d = 0; d < hd8; d += 8) {
            const __m256 qv = _mm256_loadu_ps(q + d);
            for (int r = 0; r < 8; ++r) acc[r] = _mm256_fmadd_ps(qv, load_row8<F16>(base + off[i + r], d), acc[r]);
        }
        __m256 dots = transpose_sum8(acc);
        if (hd8 < hd) {
            alignas(32) float tail[8];
            for (int r = 0; r < 8; ++r) {
                float t = 0.0f;
                for (int64_t d = hd8; d < hd; ++d) t += q[d] * row_elem<F16>(base + off[i + r], d);
                tail[r] = t;
            }
            dots = _mm256_add_ps(dots, _mm256_load_ps(tail));
        }
        _mm256_storeu_ps(s + i, _mm256_mul_ps(dots, vscale));
    }
    for (; i < i1; ++i) {  // only in the last block: the n % 8 rows at the end
        __m256 acc = _mm256_setzero_ps();
        for (int64_t d = 0; d < hd8; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load_row8<F16>(base + off[i], d), acc);
        float t = 0.0f;
        for (int64_t d = hd8; d < hd; ++d) t += q[d] * row_elem<F16>(base + off[i], d);
        s[i] = (hsum_f32x8(acc) + t) * scale;
    }
    (void)n;
}

template <bool F16>
static void scores_impl(const float* const* q, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n,
                        int64_t hd, float scale, float* s) {
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
        const int64_t i1 = i0 + kRowBlock < n ? i0 + kRowBlock : n;
        for (int64_t h = 0; h < nq; ++h) scores_rows<F16>(q[h], base, off, i0, i1, n, hd, vscale, scale, s + h * n);
    }
}

// out[h] += Σ_{i in [i0, i1)} p[h][i]·row_i over elements [d0, d0 + 8·nv) kept in registers.
template <bool F16>
static inline void weighted_rows(const float* p, const uint8_t* base, const int64_t* off, int64_t i0, int64_t i1,
                                 int64_t d0, int nv, float* out) {
    __m256 acc[8];
    for (int k = 0; k < nv; ++k) acc[k] = _mm256_loadu_ps(out + d0 + 8 * k);
    for (int64_t i = i0; i < i1; ++i) {
        const __m256 pv = _mm256_set1_ps(p[i]);
        const uint8_t* row = base + off[i];
        for (int k = 0; k < nv; ++k) acc[k] = _mm256_fmadd_ps(pv, load_row8<F16>(row, d0 + 8 * k), acc[k]);
    }
    for (int k = 0; k < nv; ++k) _mm256_storeu_ps(out + d0 + 8 * k, acc[k]);
}

template <bool F16>
static void weighted_sum_impl(const float* p, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n,
                              int64_t hd, float* out) {
    const int64_t hd8 = hd / 8 * 8;
    for (int64_t h = 0; h < nq; ++h)
        for (int64_t d = 0; d < hd; ++d) out[h * hd + d] = 0.0f;
    // Accumulators go through memory between row blocks: exact f32 stores/loads, so the per-element sum is the
    // same sequence of FMAs in order of i however the rows are blocked.
    for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
        const int64_t i1 = i0 + kRowBlock < n ? i0 + kRowBlock : n;
        for (int64_t h = 0; h < nq; ++h) {
            for (int64_t d0 = 0; d0 < hd8; d0 += 64) {
                const int nv = static_cast<int>((hd8 - d0 < 64 ? hd8 - d0 : 64) / 8);
                weighted_rows<F16>(p + h * n, base, off, i0, i1, d0, nv, out + h * hd);
            }
            for (int64_t d = hd8; d < hd; ++d) {
                float acc = out[h * hd + d];
                for (int64_t i = i0; i < i1; ++i) acc += p[h * n + i] * row_elem<F16>(base + off[i], d);
                out[h * hd + d] = acc;
            }
        }
    }
}

}  // namespace

void attn_scores(const float* const* q, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n, int64_t hd,
                 bool f16, float scale, float* s) {
    if (f16) scores_impl<true>(q, nq, base, off, n, hd, scale, s);
    else scores_impl<false>(q, nq, base, off, n, hd, scale, s);
}

void attn_weighted_sum(const float* p, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n, int64_t hd,
                       bool f16, float* out) {
    if (f16) weighted_sum_impl<true>(p, nq, base, off, n, hd, out);
    else weighted_sum_impl<false>(p, nq, base, off, n, hd, out);
}

}  // namespace aprhost::cpu::avx2
