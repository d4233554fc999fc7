// AVX2 dot kernels for the K-quants (Q4_K, Q5_K, Q6_K) against Q8_K activations.
// Per super-block the weight nibbles / high bits and the sub-block scales are decoded once; per tile column every
// 32-element group is one _mm256_maddubs_epi16 (u8 weights × i8 activations) followed by _mm256_madd_epi16 with
// the group's integer scale, summed in int32 over the super-block, then one FMA with d_w·d_a. The min (Q4_K/Q5_K)
// and the −32 offset (Q6_K) come from the activation's bsums, so the inner loop stays unsigned.
#include "../kernel_table.hpp"
#include "../tile_dispatch.hpp"
#include "avx2_common.hpp"

#include <aprhost/reference/quant_blocks.hpp>

namespace aprhost::cpu::avx2 {
#include "../kernel_decls.inc"

namespace {

using aprhost::ref::block_q4_K;
using aprhost::ref::block_q5_K;
using aprhost::ref::block_q6_K;
using aprhost::ref::QK_K;

// The 12 packed bytes of Q4_K/Q5_K → bytes 0..7 = the eight 6-bit scales, bytes 8..15 = the eight mins.
static inline void unpack_scales_mins(const uint8_t* packed, uint8_t out[16]) {
    constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t u[4];
    std::memcpy(u, packed, 12);
    u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
    const uint32_t mins_lo = u[1] & kmask1;
    u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
    u[2] = mins_lo;
    u[0] &= kmask1;
    std::memcpy(out, u, 16);
}

// Σ_j min_j · (bsums[2j] + bsums[2j+1]) as 4 × int32 lanes.
static inline __m128i mins_dot_bsums(const uint8_t sm[16], const int16_t* bsums) {
    const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8)));
    const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums));
    const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8));
    return _mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1));
}

// Q4_K and Q5_K: Q(block, chunk) returns the unsigned weights of chunk 0..3 as {low sub-block, high sub-block}.
template <int NC, class Block, class Quants>
static inline void dot_kmin(int64_t n, const void* wv, const void* const* act, float* out, Quants quants) {
    const auto* w = static_cast<const Block*>(wv);
    const ActBlockK* a[NC];
    __m256 acc[NC];
    __m128 accm[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const ActBlockK*>(act[c]);
        acc[c] = _mm256_setzero_ps();
        accm[c] = _mm_setzero_ps();
    }
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const Block& x = w[b];
        const float dw = h2f(x.d);
        const float dmw = h2f(x.dmin);
        alignas(16) uint8_t sm[16];
        unpack_scales_mins(x.scales, sm);
        __m256i q[8];
        for (int ch = 0; ch < 4; ++ch) quants(x, ch, q[2 * ch], q[2 * ch + 1]);
        for (int c = 0; c < NC; ++c) {
            const ActBlockK& y = a[c][b];
            __m256i sumi = _mm256_setzero_si256();
            for (int j = 0; j < 8; ++j) {
                const __m256i p = _mm256_maddubs_epi16(q[j], loadu256(y.qs + 32 * j));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_set1_epi16(sm[j])));
            }
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y.d), _mm256_cvtepi32_ps(sumi), acc[c]);
            const __m128 pm = _mm_cvtepi32_ps(mins_dot_bsums(sm, y.bsums));
            accm[c] = _mm_fmadd_ps(_mm_set1_ps(-dmw * y.d), pm, accm[c]);
        }
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum_f32x8(acc[c]) + hsum_f32x4(accm[c]);
}

}  // namespace

void dot_q4_K(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_kmin<NC, block_q4_K>(n, w, act, out, [](const block_q4_K& x, int ch, __m256i& lo, __m256i& hi) {
            const __m256i m4 = _mm256_set1_epi8(0x0F);
            const __m256i bits = loadu256(x.qs + 32 * ch);
            lo = _mm256_and_si256(bits, m4);
            hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
        });
    });
}

void dot_q5_K(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_kmin<NC, block_q5_K>(n, w, act, out, [](const block_q5_K& x, int ch, __m256i& lo, __m256i& hi) {
            const __m256i m4 = _mm256_set1_epi8(0x0F);
            const __m256i one = _mm256_set1_epi8(1);
            const __m256i bits = loadu256(x.qs + 32 * ch);
            const __m256i hb = loadu256(x.qh);
            // Bit 2ch (resp. 2ch+1) of each qh byte → value 16 in the same byte.
            const __m128i s0 = _mm_cvtsi32_si128(2 * ch), s1 = _mm_cvtsi32_si128(2 * ch + 1);
            const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, s0), one), 4);
            const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, s1), one), 4);
            lo = _mm256_or_si256(_mm256_and_si256(bits, m4), h0);
            hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), h1);
        });
    });
}

void dot_q6_K(int64_t n, const void* wv, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        const auto* w = static_cast<const block_q6_K*>(wv);
        const ActBlockK* a[NC];
        __m256 acc[NC];
        for (int c = 0; c < NC; ++c) {
            a[c] = static_cast<const ActBlockK*>(act[c]);
            acc[c] = _mm256_setzero_ps();
        }
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        const __m256i m3 = _mm256_set1_epi8(3);
        for (int64_t b = 0; b < n / QK_K; ++b) {
            const block_q6_K& x = w[b];
            const float dw = h2f(x.d);
            // q[g]: elements 32g .. 32g+31, unsigned 0..63 (the −32 is applied through bsums below).
            __m256i q[8];
            __m256i scl[8];  // int16 scales: lanes 0..7 the first 16 elements' scale, lanes 8..15 the second's
            for (int h = 0; h < 2; ++h) {
                const __m256i l0 = loadu256(x.ql + 64 * h);
                const __m256i l1 = loadu256(x.ql + 64 * h + 32);
                const __m256i hb = loadu256(x.qh + 32 * h);
                const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(hb, m3), 4);
                const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 4);
                const __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m3), 4);
                const __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m3), 4);
                q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), h0);
                q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), h1);
                q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), h2);
                q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), h3);
            }
            for (int g = 0; g < 8; ++g)
                scl[g] = _mm256_set_m128i(_mm_set1_epi16(x.scales[2 * g + 1]), _mm_set1_epi16(x.scales[2 * g]));
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales)));
            for (int c = 0; c < NC; ++c) {
                const ActBlockK& y = a[c][b];
                __m256i sumi = _mm256_setzero_si256();
                for (int g = 0; g < 8; ++g) {
                    const __m256i p = _mm256_maddubs_epi16(q[g], loadu256(y.qs + 32 * g));
                    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scl[g]));
                }
                // Σ_g sc_g · bsum_g (×32) removes the +32 bias of the unsigned weights.
                const __m256i sumb = _mm256_madd_epi16(sc16, loadu256(y.bsums));
                sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(sumb, 5));
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y.d), _mm256_cvtepi32_ps(sumi), acc[c]);
            }
        }
        for (int c = 0; c < NC; ++c) out[c] = hsum_f32x8(acc[c]);
    });
}

}  // namespace aprhost::cpu::avx2
