// AVX2 dot kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against ActBlock32 activations.
//
// Decode rows are short (576..896 elements = 18..28 blocks), so per-block instruction count and per-row fixed costs
// decide the speed (the kernels are compute-bound on this class of machine, not DRAM-bound):
// - The 4/5-bit types work on block PAIRS (b, b+1): one 32-byte register holds both blocks' low (resp. high) nibble
//   halves, [b: elements 0..15 | b+1: elements 0..15] and [b: 16..31 | b+1: 16..31], so the unpack is one load +
//   shift + two ANDs per 64 weights, and the int16 products of both halves are added before ONE widening madd
//   (|Σ| ≤ 2·2·31·128 < 2^15): lanes 0..3 of the int32 result belong to block b, lanes 4..7 to block b+1. The scales
//   arrive as [d_w·d_a, m_w·s_a] for both blocks from one f16→f32 conversion and one multiply (the activation block
//   keeps d and s adjacent). Codes stay unsigned: x = d_w·q + m_w, so Σ x·a = d_w·d_a·Σ q·a_q + m_w·s_a (the offset
//   types use m = −8·d / −16·d, so u8×i8 maddubs needs no sign fix-ups). An odd last block is paired with zeros.
// - Q8_0 goes block by block with the sign trick, blocks alternating between two accumulators (even / odd) so one
//   row is not bound by the FMA latency.
// - The row-range entries (rows_*) walk a row range in one call (no per-row indirect call, setup hoisted); the
//   horizontal sums of the NC columns of a row share one transposing hadd tree.
// Rows are processed one after the other on purpose: walking several rows side by side (tried: 4 rows per tile)
// was up to 4x slower when the weights stream from DRAM — the interleaved streams defeat the hardware prefetchers.
//
// Bit-identity: every (row, column) runs the same operation sequence whatever NC, the tile position or the row
// range — its own accumulators updated block by block in order, the 8 lanes reduced as
// ((x0+x1)+(x2+x3)) + ((x4+x5)+(x6+x7)) (reduce4; a lane's sum never mixes with another column's). So the row-range
// entry and the single-row dot_* entry give the same bits.
#include "../kernel_table.hpp"
#include "../tile_dispatch.hpp"
#include "avx2_common.hpp"

#include <aprhost/reference/quant_blocks.hpp>

#include <cstring>
#include <type_traits>

namespace aprhost::cpu::avx2 {
#include "../kernel_decls.inc"

void rows_q4_0(int64_t n, const uint8_t* w, int64_t wstride, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias);
void rows_q4_1(int64_t n, const uint8_t* w, int64_t wstride, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias);
void rows_q5_0(int64_t n, const uint8_t* w, int64_t wstride, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias);
void rows_q5_1(int64_t n, const uint8_t* w, int64_t wstride, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias);
void rows_q8_0(int64_t n, const uint8_t* w, int64_t wstride, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias);

namespace {

using aprhost::ref::block_q4_0;
using aprhost::ref::block_q4_1;
using aprhost::ref::block_q5_0;
using aprhost::ref::block_q5_1;
using aprhost::ref::block_q8_0;

// Horizontal sums of up to 4 vectors in one transposing tree: lane i of the result is
// ((v_i0+v_i1)+(v_i2+v_i3)) + ((v_i4+v_i5)+(v_i6+v_i7)), independent of the other vectors.
static inline __m128 reduce4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// [16 bytes at lo | 16 bytes at hi].
static inline __m256i load_2x128(const void* lo, const void* hi) {
    return _mm256_loadu2_m128i(static_cast<const __m128i*>(hi), static_cast<const __m128i*>(lo));
}
// [16 bytes at lo | zeros].
static inline __m256i load_1x128(const void* lo) {
    return _mm256_zextsi128_si256(_mm_loadu_si128(static_cast<const __m128i*>(lo)));
}

// [d, s, 0, 0] of an activation block (adjacent floats; the 64-bit load intrinsic is alias-safe).
static inline __m128i load_d_s(const ActBlock32& y) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(&y.d)); }

static inline uint32_t load_u32(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Pair traits: unpack(b0, b1, lo, hi) fills lo = [b0 elements 0..15 | b1 elements 0..15] and hi = the same for
// 16..31 as unsigned codes (b1 == nullptr: zeros in the upper half); dm(b0, b1) = [d0, m0, d1, m1] as f32
// (zeros for a missing b1).
template <class Block>
static inline __m128 dm_from_fields(const Block& b0, const Block* b1) {  // Q4_1 / Q5_1: d, m adjacent f16
    return _mm_cvtph_ps(_mm_setr_epi32(static_cast<int>(load_u32(&b0.d)),
                                       b1 ? static_cast<int>(load_u32(&b1->d)) : 0, 0, 0));
}
template <class Block>
static inline __m128 dm_from_offset(const Block& b0, const Block* b1, float offset) {  // Q4_0 / Q5_0: m = offset·d
    const short d0 = static_cast<short>(b0.d), d1 = b1 ? static_cast<short>(b1->d) : short{0};
    const __m128 d = _mm_cvtph_ps(_mm_setr_epi16(d0, d0, d1, d1, 0, 0, 0, 0));
    return _mm_mul_ps(d, _mm_setr_ps(1.0f, offset, 1.0f, offset));
}
template <class Block>
static inline void unpack_nibbles_pair(const Block& b0, const Block* b1, __m256i& lo, __m256i& hi) {
    const __m256i v = b1 ? load_2x128(b0.qs, b1->qs) : load_1x128(b0.qs);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    lo = _mm256_and_si256(v, m4);
    hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
}
template <class Block>
static inline void unpack_q5_pair(const Block& b0, const Block* b1, __m256i& lo, __m256i& hi) {
    unpack_nibbles_pair(b0, b1, lo, hi);
    // Both blocks' 32 high bits in every 64-bit lane; the shuffles pick, per output byte, the qh byte holding its
    // bit (lo: bits 0..15 of b0 then of b1; hi: bits 16..31), the OR/compare turns that bit into 0xFF / 0.
    const uint64_t h = load_u32(b0.qh) | (b1 ? static_cast<uint64_t>(load_u32(b1->qh)) << 32 : 0u);
    const __m256i hv = _mm256_set1_epi64x(static_cast<long long>(h));
    const __m256i sel_lo = _mm256_set_epi64x(0x0505050505050505, 0x0404040404040404, 0x0101010101010101, 0);
    const __m256i sel_hi = _mm256_set_epi64x(0x0707070707070707, 0x0606060606060606, 0x0303030303030303,
                                             0x0202020202020202);
    const __m256i bit = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    const __m256i all = _mm256_set1_epi64x(-1), x10 = _mm256_set1_epi8(0x10);
    const __m256i blo = _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_shuffle_epi8(hv, sel_lo), bit), all);
    const __m256i bhi = _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_shuffle_epi8(hv, sel_hi), bit), all);
    lo = _mm256_or_si256(lo, _mm256_and_si256(blo, x10));
    hi = _mm256_or_si256(hi, _mm256_and_si256(bhi, x10));
}

struct TQ4_0 {
    using Block = block_q4_0;
    static __m128 dm(const Block& b0, const Block* b1) { return dm_from_offset(b0, b1, -8.0f); }
    static void unpack(const Block& b0, const Block* b1, __m256i& lo, __m256i& hi) {
        unpack_nibbles_pair(b0, b1, lo, hi);
    }
};
struct TQ4_1 {
    using Block = block_q4_1;
    static __m128 dm(const Block& b0, const Block* b1) { return dm_from_fields(b0, b1); }
    static void unpack(const Block& b0, const Block* b1, __m256i& lo, __m256i& hi) {
        unpack_nibbles_pair(b0, b1, lo, hi);
    }
};
struct TQ5_0 {
    using Block = block_q5_0;
    static __m128 dm(const Block& b0, const Block* b1) { return dm_from_offset(b0, b1, -16.0f); }
    static void unpack(const Block& b0, const Block* b1, __m256i& lo, __m256i& hi) { unpack_q5_pair(b0, b1, lo, hi); }
};
struct TQ5_1 {
    using Block = block_q5_1;
    static __m128 dm(const Block& b0, const Block* b1) { return dm_from_fields(b0, b1); }
    static void unpack(const Block& b0, const Block* b1, __m256i& lo, __m256i& hi) { unpack_q5_pair(b0, b1, lo, hi); }
};
struct TQ8_0 {};

// out[c] = Σ_i w[i]·a_c[i] for one row of a pair type.
template <class T, int NC>
static inline void row_pairs(int64_t nb, const uint8_t* w, const ActBlock32* const* a, float* out) {
    using Block = typename T::Block;
    const Block* wr = reinterpret_cast<const Block*>(w);
    __m256 acc[NC];
    __m128 summ[NC];  // lanes 1 and 3: Σ m_w·s_a of the even and odd blocks
    for (int c = 0; c < NC; ++c) {
        acc[c] = _mm256_setzero_ps();
        summ[c] = _mm_setzero_ps();
    }
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2);
    auto step = [&](int64_t b, bool both) {
        const Block* b1 = both ? &wr[b + 1] : nullptr;
        __m256i lo, hi;
        T::unpack(wr[b], b1, lo, hi);
        const __m128 dm = T::dm(wr[b], b1);
        for (int c = 0; c < NC; ++c) {
            const ActBlock32& y0 = a[c][b];
            __m256i alo, ahi;
            __m128 ads;  // [d_a0, s_a0, d_a1, s_a1]
            if (both) {
                const ActBlock32& y1 = a[c][b + 1];
                alo = load_2x128(y0.qs, y1.qs);
                ahi = load_2x128(y0.qs + 16, y1.qs + 16);
                ads = _mm_castsi128_ps(_mm_unpacklo_epi64(load_d_s(y0), load_d_s(y1)));
            } else {
                alo = load_1x128(y0.qs);
                ahi = load_1x128(y0.qs + 16);
                ads = _mm_castsi128_ps(load_d_s(y0));
            }
            const __m128 prod = _mm_mul_ps(dm, ads);  // [d0·da0, m0·sa0, d1·da1, m1·sa1]
            const __m256 sc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(prod), spread);
            const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, alo), _mm256_maddubs_epi16(hi, ahi));
            acc[c] = _mm256_fmadd_ps(sc, _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones)), acc[c]);
            summ[c] = _mm_add_ps(summ[c], prod);
        }
    };
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) step(b, true);
    if (b < nb) step(b, false);
    const __m256 z = _mm256_setzero_ps();
    __m256 v[4] = {z, z, z, z};
    for (int c = 0; c < NC; ++c) v[c] = acc[c];
    alignas(16) float s[4];
    _mm_store_ps(s, reduce4(v[0], v[1], v[2], v[3]));
    for (int c = 0; c < NC; ++c) {
        alignas(16) float m[4];
        _mm_store_ps(m, summ[c]);
        out[c] = s[c] + (m[1] + m[3]);
    }
}

// out[c] = Σ_i w[i]·a_c[i] for one Q8_0 row: sign trick, acc += d_w·d_a · Σ q·a per block.
template <class T, int NC>
static inline void row_q8_0(int64_t nb, const uint8_t* w, const ActBlock32* const* a, float* out) {
    const auto* wr = reinterpret_cast<const block_q8_0*>(w);
    __m256 acc[2][NC];
    for (int c = 0; c < NC; ++c) acc[0][c] = acc[1][c] = _mm256_setzero_ps();
    auto step = [&](int64_t b, __m256* ac) {
        const float dw = h2f(wr[b].d);
        const __m256i qx = loadu256(wr[b].qs);
        const __m256i ax = _mm256_sign_epi8(qx, qx);
        for (int c = 0; c < NC; ++c) {
            const ActBlock32& y = a[c][b];
            const __m256 p = _mm256_cvtepi32_ps(dot_u8i8_i32(ax, _mm256_sign_epi8(loadu256(y.qs), qx)));
            ac[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y.d), p, ac[c]);
        }
    };
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        step(b, acc[0]);
        step(b + 1, acc[1]);
    }
    if (b < nb) step(b, acc[0]);
    const __m256 z = _mm256_setzero_ps();
    __m256 v[4] = {z, z, z, z};
    for (int c = 0; c < NC; ++c) v[c] = _mm256_add_ps(acc[0][c], acc[1][c]);
    alignas(16) float s[4];
    _mm_store_ps(s, reduce4(v[0], v[1], v[2], v[3]));
    for (int c = 0; c < NC; ++c) out[c] = s[c];
}

template <class T, int NC>
static inline void row(int64_t nb, const uint8_t* w, const ActBlock32* const* a, float* out) {
    if constexpr (std::is_same_v<T, TQ8_0>) {
        row_q8_0<T, NC>(nb, w, a, out);
    } else {
        row_pairs<T, NC>(nb, w, a, out);
    }
}

template <class T>
static inline void dot_one(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    dispatch_tile_cols(nc, [&]<int NC>() {
        row<T, NC>(n / 32, static_cast<const uint8_t*>(w), reinterpret_cast<const ActBlock32* const*>(act), out);
    });
}

template <class T>
static inline void rows_impl(int64_t n, const uint8_t* w, int64_t ws, int64_t nrows, const void* const* act, int nc,
                             float* const* dst, const float* bias) {
    const auto* const* a = reinterpret_cast<const ActBlock32* const*>(act);
    const int64_t nb = n / 32;
    dispatch_tile_cols(nc, [&]<int NC>() {
        float res[NC];
        for (int64_t r = 0; r < nrows; ++r) {
            row<T, NC>(nb, w + r * ws, a, res);
            for (int c = 0; c < NC; ++c) dst[c][r] = bias ? res[c] + bias[r] : res[c];
        }
    });
}

}  // namespace

void dot_q4_0(int64_t n, const void* w, const void* const* act, int nc, float* out) { dot_one<TQ4_0>(n, w, act, nc, out); }
void dot_q4_1(int64_t n, const void* w, const void* const* act, int nc, float* out) { dot_one<TQ4_1>(n, w, act, nc, out); }
void dot_q5_0(int64_t n, const void* w, const void* const* act, int nc, float* out) { dot_one<TQ5_0>(n, w, act, nc, out); }
void dot_q5_1(int64_t n, const void* w, const void* const* act, int nc, float* out) { dot_one<TQ5_1>(n, w, act, nc, out); }
void dot_q8_0(int64_t n, const void* w, const void* const* act, int nc, float* out) { dot_one<TQ8_0>(n, w, act, nc, out); }

void rows_q4_0(int64_t n, const uint8_t* w, int64_t ws, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias) {
    rows_impl<TQ4_0>(n, w, ws, nrows, act, nc, dst, bias);
}
void rows_q4_1(int64_t n, const uint8_t* w, int64_t ws, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias) {
    rows_impl<TQ4_1>(n, w, ws, nrows, act, nc, dst, bias);
}
void rows_q5_0(int64_t n, const uint8_t* w, int64_t ws, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias) {
    rows_impl<TQ5_0>(n, w, ws, nrows, act, nc, dst, bias);
}
void rows_q5_1(int64_t n, const uint8_t* w, int64_t ws, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias) {
    rows_impl<TQ5_1>(n, w, ws, nrows, act, nc, dst, bias);
}
void rows_q8_0(int64_t n, const uint8_t* w, int64_t ws, int64_t nrows, const void* const* act, int nc,
               float* const* dst, const float* bias) {
    rows_impl<TQ8_0>(n, w, ws, nrows, act, nc, dst, bias);
}

}  // namespace aprhost::cpu::avx2
