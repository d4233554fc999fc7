// AVX2 dot kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against ActBlock32 activations.
// Per block the weights are unpacked to 32 bytes once; per tile column: one u8×i8 multiply-add pass
// (_mm256_maddubs_epi16 + _mm256_madd_epi16), int32 → f32, and an FMA with d_w·d_a into that column's 8-lane
// accumulator. The 4/5-bit types keep their codes unsigned and add the offset/min term m_w · s_a per block in a
// scalar sum (s_a = d_a·Σ a_q comes with the activation block); Q8_0 uses the sign trick instead.
#include "../kernel_table.hpp"
#include "../tile_dispatch.hpp"
#include "avx2_common.hpp"

#include <aprhost/reference/quant_blocks.hpp>

namespace aprhost::cpu::avx2 {
#include "../kernel_decls.inc"

namespace {

using aprhost::ref::block_q4_0;
using aprhost::ref::block_q4_1;
using aprhost::ref::block_q5_0;
using aprhost::ref::block_q5_1;
using aprhost::ref::block_q8_0;

// Blocks alternate between two accumulators per column (even / odd block index): one FMA chain per column
// would make the kernel latency-bound (~4 cycles per block); the split is fixed, so it is the same for every NC.

// Symmetric types: Unpack(block) → 32 signed bytes (offset applied). acc += d_w·d_a · Σ q·a.
template <int NC, class Block, class Unpack>
static inline void dot_signed(int64_t n, const void* wv, const void* const* act, float* out, Unpack unpack) {
    const auto* w = static_cast<const Block*>(wv);
    const ActBlock32* a[NC];
    __m256 acc[2][NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const ActBlock32*>(act[c]);
        acc[0][c] = acc[1][c] = _mm256_setzero_ps();
    }
    const int64_t nb = n / 32;
    auto step = [&](int64_t b, __m256* accs) {
        const float dw = h2f(w[b].d);
        const __m256i qx = unpack(w[b]);
        const __m256i ax = _mm256_sign_epi8(qx, qx);
        for (int c = 0; c < NC; ++c) {
            const ActBlock32& y = a[c][b];
            const __m256i sy = _mm256_sign_epi8(loadu256(y.qs), qx);
            const __m256 p = _mm256_cvtepi32_ps(dot_u8i8_i32(ax, sy));
            accs[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y.d), p, accs[c]);
        }
    };
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        step(b, acc[0]);
        step(b + 1, acc[1]);
    }
    if (b < nb) step(b, acc[0]);
    for (int c = 0; c < NC; ++c) out[c] = hsum_f32x8(_mm256_add_ps(acc[0][c], acc[1][c]));
}

// Unsigned codes: Unpack(block) → 32 unsigned bytes q, MinOf(block, d_w) → m_w, the value of code 0.
// x = d_w·q + m_w, so Σ x·a = d_w·d_a·Σ q·a_q + m_w·s_a: acc += d_w·d_a · Σ q·a (vector), summ += m_w · s_a.
// The offset types (Q4_0: m = −8·d, Q5_0: m = −16·d) use it too: u8×i8 maddubs needs no sign fix-ups then.
template <int NC, class Block, class Unpack, class MinOf>
static inline void dot_unsigned(int64_t n, const void* wv, const void* const* act, float* out, Unpack unpack,
                                MinOf min_of) {
    const auto* w = static_cast<const Block*>(wv);
    const ActBlock32* a[NC];
    __m256 acc[2][NC];
    float summ[2][NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const ActBlock32*>(act[c]);
        acc[0][c] = acc[1][c] = _mm256_setzero_ps();
        summ[0][c] = summ[1][c] = 0.0f;
    }
    const int64_t nb = n / 32;
    auto step = [&](int64_t b, __m256* accs, float* sums) {
        const float dw = h2f(w[b].d);
        const float mw = min_of(w[b], dw);
        const __m256i qx = unpack(w[b]);
        for (int c = 0; c < NC; ++c) {
            const ActBlock32& y = a[c][b];
            const __m256 p = _mm256_cvtepi32_ps(dot_u8i8_i32(qx, loadu256(y.qs)));
            accs[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y.d), p, accs[c]);
            sums[c] += mw * y.s;
        }
    };
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        step(b, acc[0], summ[0]);
        step(b + 1, acc[1], summ[1]);
    }
    if (b < nb) step(b, acc[0], summ[0]);
    for (int c = 0; c < NC; ++c)
        out[c] = hsum_f32x8(_mm256_add_ps(acc[0][c], acc[1][c])) + (summ[0][c] + summ[1][c]);
}

// Nibbles plus the 5th bits (bit i of qh → value 16 in byte i): unsigned 0..31.
static inline __m256i unpack_q5(const uint8_t* qs, const uint8_t* qh) {
    return _mm256_or_si256(bytes_from_nibbles_32(qs), _mm256_and_si256(bytes_from_bits_32(qh), _mm256_set1_epi8(0x10)));
}

}  // namespace

void dot_q4_0(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_unsigned<NC, block_q4_0>(
            n, w, act, out, [](const block_q4_0& b) { return bytes_from_nibbles_32(b.qs); },
            [](const block_q4_0&, float d) { return -8.0f * d; });
    });
}

void dot_q4_1(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_unsigned<NC, block_q4_1>(
            n, w, act, out, [](const block_q4_1& b) { return bytes_from_nibbles_32(b.qs); },
            [](const block_q4_1& b, float) { return h2f(b.m); });
    });
}

void dot_q5_0(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_unsigned<NC, block_q5_0>(
            n, w, act, out, [](const block_q5_0& b) { return unpack_q5(b.qs, b.qh); },
            [](const block_q5_0&, float d) { return -16.0f * d; });
    });
}

void dot_q5_1(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_unsigned<NC, block_q5_1>(
            n, w, act, out, [](const block_q5_1& b) { return unpack_q5(b.qs, b.qh); },
            [](const block_q5_1& b, float) { return h2f(b.m); });
    });
}

void dot_q8_0(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_signed<NC, block_q8_0>(n, w, act, out, [](const block_q8_0& b) { return loadu256(b.qs); });
    });
}

}  // namespace aprhost::cpu::avx2
