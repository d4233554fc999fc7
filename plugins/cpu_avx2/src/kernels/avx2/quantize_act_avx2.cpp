// AVX2 activation quantization: f32 → ActBlock32 / ActBlockK. Same arithmetic as the portable version
// (d = max|x| / 127, q = round-to-nearest-even(x / d)), so both produce identical blocks.
#include "../kernel_table.hpp"
#include "avx2_common.hpp"

namespace aprhost::cpu::avx2 {
#include "../kernel_decls.inc"

namespace {

// max|x| over n floats (n a multiple of 8).
static inline float block_amax(const float* x, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    __m128 r = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    r = _mm_max_ps(r, _mm_movehl_ps(r, r));
    r = _mm_max_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// 32 floats × id → 32 int8 (round to nearest even, clamped to ±127) stored at q; returns their sum as 8 × int32.
static inline __m256i quantize32(const float* x, __m256 id, int8_t* q) {
    const __m256 lim = _mm256_set1_ps(127.0f);
    __m256i v[4];
    for (int k = 0; k < 4; ++k) {
        __m256 f = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id);
        f = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        f = _mm256_min_ps(_mm256_max_ps(f, _mm256_sub_ps(_mm256_setzero_ps(), lim)), lim);
        v[k] = _mm256_cvtps_epi32(f);
    }
    const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(v[0], v[1]), _mm256_add_epi32(v[2], v[3]));
    // packs interleave 128-bit lanes; the permute restores element order.
    const __m256i p01 = _mm256_packs_epi32(v[0], v[1]);
    const __m256i p23 = _mm256_packs_epi32(v[2], v[3]);
    __m256i b = _mm256_packs_epi16(p01, p23);
    b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), b);
    return sum;
}

static inline int hsum_i32x8(__m256i v) {
    __m128i r = _mm_add_epi32(_mm256_extracti128_si256(v, 1), _mm256_castsi256_si128(v));
    r = _mm_add_epi32(r, _mm_unpackhi_epi64(r, r));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 1));
    return _mm_cvtsi128_si32(r);
}

}  // namespace

void quantize_act32(const float* x, ActBlock32* y, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        const float d = block_amax(x, 32) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const int sum = hsum_i32x8(quantize32(x, _mm256_set1_ps(id), y[b].qs));
        y[b].d = d;
        y[b].s = d * static_cast<float>(sum);
    }
}

void quantize_actk(const float* x, ActBlockK* y, int64_t n) {
    for (int64_t b = 0; b < n / 256; ++b, x += 256) {
        const float d = block_amax(x, 256) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        for (int k = 0; k < 8; ++k) quantize32(x + 32 * k, vid, y[b].qs + 32 * k);
        // bsums: sums of 16 consecutive int8 (madd with ones, then pairwise adds within each 16-byte group).
        for (int k = 0; k < 8; ++k) {
            const __m256i q = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[b].qs + 16 * 2 * k)));
            const __m256i q2 =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[b].qs + 16 * (2 * k + 1))));
            const __m256i s1 = _mm256_madd_epi16(q, _mm256_set1_epi16(1));
            const __m256i s2 = _mm256_madd_epi16(q2, _mm256_set1_epi16(1));
            y[b].bsums[2 * k] = static_cast<int16_t>(hsum_i32x8(s1));
            y[b].bsums[2 * k + 1] = static_cast<int16_t>(hsum_i32x8(s2));
        }
        y[b].d = d;
    }
}

}  // namespace aprhost::cpu::avx2
