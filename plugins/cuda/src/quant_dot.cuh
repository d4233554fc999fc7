// The arithmetic of the fused MUL_MAT kernels (decode GEMV and prefill tile), shared by cuda_mul_mat_vec.cu and the
// host test (tests/cuda_quant/), which runs these exact functions on the CPU:
//   - the q8_1 activation quantiser: per 32 elements d = amax/127, q = rn(x/d), ds = (d, d·Σq);
//   - per weight dtype, VecDot<dtype>: how TPB threads split one weight block, what each thread loads (load: its
//     weight share, act: its share of one quantised activation column) and how it dots them (dot, with dp4a);
//   - lane_tile<dtype, R, NC>: the whole loop one lane of a warp runs over R weight rows × NC columns (each weight
//     share loaded once for NC columns, each activation share once for R rows). A warp's 32 partials summed = the
//     dot products. Decode is R = 1 (lane_partial), the prefill tile R = 4, NC = 8: the same arithmetic.
// Float weights (F32/F16/BF16) use lane_partial_float with f32 activations and FP32 FMA accumulation.
//
// Activation layout (workspace, written by the prologue kernel): xq = int8 [ncols][k], xds = float2
// [ncols][k/32], column c at xq + c·k, xds + c·k/32; both 16-byte aligned (k is a multiple of 32).
// Weight rows of Q4_K/Q5_K must be 16-byte aligned (128-bit loads); the others need 2 bytes.
#pragma once

#include "quant_blocks.cuh"

#include <cmath>

namespace aprhost::cuda::qb {

struct alignas(8) f32x2 { float x, y; };  // (d, d·Σq) of one q8_1 activation block; same layout as CUDA's float2

// ---------------------------------------------------------------------------------------------------------------
// q8_1 activation quantiser (per element, so the warp-parallel kernel and the host emulation agree bit for bit)
// ---------------------------------------------------------------------------------------------------------------

APH_QB_HD float q8_1_scale(float amax) { return amax / 127.0f; }
APH_QB_HD float q8_1_inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }
APH_QB_HD int q8_1_quant(float x, float id) {
    const int q = f32_to_int_rn(mul_rn(x, id));
    return q > 127 ? 127 : (q < -127 ? -127 : q);
}
APH_QB_HD float q8_1_sum_scaled(float d, int sum) { return mul_rn(d, static_cast<float>(sum)); }

// ---------------------------------------------------------------------------------------------------------------
// Per-dtype block dot products. A thread owns part p (0..TPB−1) of a weight block: load() reads its weight share
// (wb = the block), act() its share of one activation column (xq = the block's first activation, xds = the ds of
// the block's first 32), dot() combines them with dp4a. Splitting act() from dot() lets a thread reuse one
// activation share for several weight rows (the prefill tile) and one weight share for several columns.
// ---------------------------------------------------------------------------------------------------------------

template <uint32_t DT>
struct VecDot;

// Shared by the 32-element types whose part p covers elements 4p..4p+3 and 16+4p..16+4p+3.
struct ActHalves { uint32_t lo, hi; f32x2 ds; };
APH_QB_HD ActHalves act_halves(int p, const int8_t* xq, const f32x2* xds) {
    return {ld_u32_a4(xq + 4 * p), ld_u32_a4(xq + 16 + 4 * p), xds[0]};
}
// Shared by the 32-element types whose part p covers elements 8p..8p+7.
struct ActRun8 { uint32_t a, b; f32x2 ds; };
APH_QB_HD ActRun8 act_run8(int p, const int8_t* xq, const f32x2* xds) {
    return {ld_u32_a4(xq + 8 * p), ld_u32_a4(xq + 8 * p + 4), xds[0]};
}

// Q4_0: part p holds qs[4p..4p+3] = elements 4p..4p+3 (low nibbles) and 16+4p.. (high). x = d·(q − 8): the −8 is
// applied through the block sum s, a quarter per part (the four quarters add up to the whole block's 8·s).
template <>
struct VecDot<APH_DTYPE_Q4_0> {
    static constexpr int TPB = 4;
    struct W { float d; uint32_t q; };
    using A = ActHalves;
    APH_QB_HD static W load(const uint8_t* wb, int p) { return {f16_to_f32(ld_u16(wb)), ld_u32_a2(wb + 2 + 4 * p)}; }
    APH_QB_HD static A act(int p, const int8_t* xq, const f32x2* xds) { return act_halves(p, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) {
        int s = dp4a(w.q & 0x0F0F0F0Fu, a.lo, 0);
        s = dp4a((w.q >> 4) & 0x0F0F0F0Fu, a.hi, s);
        return w.d * (static_cast<float>(s) * a.ds.x - 2.0f * a.ds.y);
    }
};

// Q4_1: as Q4_0; x = d·q + m: the m term is m·s, a quarter per part.
template <>
struct VecDot<APH_DTYPE_Q4_1> {
    static constexpr int TPB = 4;
    struct W { float d, m; uint32_t q; };
    using A = ActHalves;
    APH_QB_HD static W load(const uint8_t* wb, int p) {
        return {f16_to_f32(ld_u16(wb)), f16_to_f32(ld_u16(wb + 2)), ld_u32_a2(wb + 4 + 4 * p)};
    }
    APH_QB_HD static A act(int p, const int8_t* xq, const f32x2* xds) { return act_halves(p, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) {
        int s = dp4a(w.q & 0x0F0F0F0Fu, a.lo, 0);
        s = dp4a((w.q >> 4) & 0x0F0F0F0Fu, a.hi, s);
        return w.d * static_cast<float>(s) * a.ds.x + 0.25f * w.m * a.ds.y;
    }
};

// Q5_0: as Q4_0 with the 5th bits of elements 4p.. and 16+4p.. spread into bit 4 of each byte; x = d·(q − 16).
template <>
struct VecDot<APH_DTYPE_Q5_0> {
    static constexpr int TPB = 4;
    struct W { float d; uint32_t lo, hi; };
    using A = ActHalves;
    APH_QB_HD static W load(const uint8_t* wb, int p) {
        const uint32_t qh = ld_u32_a2(wb + 2);
        const uint32_t q = ld_u32_a2(wb + 6 + 4 * p);
        return {f16_to_f32(ld_u16(wb)), (q & 0x0F0F0F0Fu) | spread_bit4(qh >> (4 * p)),
                ((q >> 4) & 0x0F0F0F0Fu) | spread_bit4(qh >> (16 + 4 * p))};
    }
    APH_QB_HD static A act(int p, const int8_t* xq, const f32x2* xds) { return act_halves(p, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) {
        int s = dp4a(w.lo, a.lo, 0);
        s = dp4a(w.hi, a.hi, s);
        return w.d * (static_cast<float>(s) * a.ds.x - 4.0f * a.ds.y);
    }
};

// Q5_1: q as Q5_0; x = d·q + m.
template <>
struct VecDot<APH_DTYPE_Q5_1> {
    static constexpr int TPB = 4;
    struct W { float d, m; uint32_t lo, hi; };
    using A = ActHalves;
    APH_QB_HD static W load(const uint8_t* wb, int p) {
        const uint32_t qh = ld_u32_a2(wb + 4);
        const uint32_t q = ld_u32_a2(wb + 8 + 4 * p);
        return {f16_to_f32(ld_u16(wb)), f16_to_f32(ld_u16(wb + 2)),
                (q & 0x0F0F0F0Fu) | spread_bit4(qh >> (4 * p)), ((q >> 4) & 0x0F0F0F0Fu) | spread_bit4(qh >> (16 + 4 * p))};
    }
    APH_QB_HD static A act(int p, const int8_t* xq, const f32x2* xds) { return act_halves(p, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) {
        int s = dp4a(w.lo, a.lo, 0);
        s = dp4a(w.hi, a.hi, s);
        return w.d * static_cast<float>(s) * a.ds.x + 0.25f * w.m * a.ds.y;
    }
};

// Q8_0: part p holds elements 8p..8p+7.
template <>
struct VecDot<APH_DTYPE_Q8_0> {
    static constexpr int TPB = 4;
    struct W { float d; uint32_t q0, q1; };
    using A = ActRun8;
    APH_QB_HD static W load(const uint8_t* wb, int p) {
        return {f16_to_f32(ld_u16(wb)), ld_u32_a2(wb + 2 + 8 * p), ld_u32_a2(wb + 6 + 8 * p)};
    }
    APH_QB_HD static A act(int p, const int8_t* xq, const f32x2* xds) { return act_run8(p, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) {
        int s = dp4a(w.q0, a.a, 0);
        s = dp4a(w.q1, a.b, s);
        return w.d * static_cast<float>(s) * a.ds.x;
    }
};

// APR_Q4: part p holds qs[4p..4p+3] = elements 8p..8p+7 with even elements in the low nibbles: the activation
// bytes are regrouped into even/odd words with byte_perm instead of reshuffling the weights.
template <>
struct VecDot<APH_DTYPE_APR_Q4> {
    static constexpr int TPB = 4;
    struct W { float d; uint32_t q; };
    using A = ActRun8;
    APH_QB_HD static W load(const uint8_t* wb, int p) { return {f16_to_f32(ld_u16(wb)), ld_u32_a2(wb + 2 + 4 * p)}; }
    APH_QB_HD static A act(int p, const int8_t* xq, const f32x2* xds) {
        const ActRun8 r = act_run8(p, xq, xds);
        return {byte_perm(r.a, r.b, 0x6420u), byte_perm(r.a, r.b, 0x7531u), r.ds};  // (even, odd) elements
    }
    APH_QB_HD static float dot(const W& w, const A& a) {
        int s = dp4a(w.q & 0x0F0F0F0Fu, a.a, 0);
        s = dp4a((w.q >> 4) & 0x0F0F0F0Fu, a.b, s);
        return w.d * (static_cast<float>(s) * a.ds.x - 2.0f * a.ds.y);
    }
};

// APR_Q8: f32 d, part p holds elements 8p..8p+7.
template <>
struct VecDot<APH_DTYPE_APR_Q8> {
    static constexpr int TPB = 4;
    struct W { float d; uint32_t q0, q1; };
    using A = ActRun8;
    APH_QB_HD static W load(const uint8_t* wb, int p) {
        return {bits_to_f32(ld_u32_a2(wb)), ld_u32_a2(wb + 4 + 8 * p), ld_u32_a2(wb + 8 + 8 * p)};
    }
    APH_QB_HD static A act(int p, const int8_t* xq, const f32x2* xds) { return act_run8(p, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) {
        int s = dp4a(w.q0, a.a, 0);
        s = dp4a(w.q1, a.b, s);
        return w.d * static_cast<float>(s) * a.ds.x;
    }
};

// Activation share of the Q4_K/Q5_K part t: elements 64c + l0 .. +15 and 64c + 32 + l0 .. +15 (c = t/2,
// l0 = 16·(t%2)) and the ds of their two 32-element blocks.
struct ActK4 { u32x4 lo, hi; f32x2 a, b; };
APH_QB_HD ActK4 act_k4(int t, const int8_t* xq, const f32x2* xds) {
    const int c = t >> 1, l0 = 16 * (t & 1);
    return {ld_u128(xq + 64 * c + l0), ld_u128(xq + 64 * c + 32 + l0), xds[2 * c], xds[2 * c + 1]};
}

// Σ over 16 bytes of unsigned 4/5-bit codes × signed activations.
APH_QB_HD int dp16(const u32x4& w, const u32x4& x) {
    int s = dp4a(w.x, x.x, 0);
    s = dp4a(w.y, x.y, s);
    s = dp4a(w.z, x.z, s);
    return dp4a(w.w, x.w, s);
}

// Q4_K (16-byte aligned blocks): part t = 0..7 takes chunk c = t/2 and bytes l0 = 16·(t%2) .. l0+15 of its 32 qs:
// low nibbles = elements 64c + l0 .. +15 (sub-block 2c), high = 64c + 32 + l0 .. (sub-block 2c+1). One 128-bit
// load for d/dmin/scales, one for the nibbles; the min term uses half of each sub-block's activation sum.
template <>
struct VecDot<APH_DTYPE_Q4_K> {
    static constexpr int TPB = 8;
    struct W { float d, dmin; int sc0, m0, sc1, m1; u32x4 lo, hi; };
    using A = ActK4;
    APH_QB_HD static W load(const uint8_t* wb, int t) {
        const int c = t >> 1, l0 = 16 * (t & 1);
        const u32x4 h = ld_u128(wb);
        W w;
        w.d = f16_to_f32(static_cast<uint16_t>(h.x & 0xFFFFu));
        w.dmin = f16_to_f32(static_cast<uint16_t>(h.x >> 16));
        k4_scale_min(h.y, h.z, h.w, 2 * c, w.sc0, w.m0);
        k4_scale_min(h.y, h.z, h.w, 2 * c + 1, w.sc1, w.m1);
        const u32x4 q = ld_u128(wb + 16 + 32 * c + l0);
        const uint32_t m4 = 0x0F0F0F0Fu;
        w.lo = {q.x & m4, q.y & m4, q.z & m4, q.w & m4};
        w.hi = {(q.x >> 4) & m4, (q.y >> 4) & m4, (q.z >> 4) & m4, (q.w >> 4) & m4};
        return w;
    }
    APH_QB_HD static A act(int t, const int8_t* xq, const f32x2* xds) { return act_k4(t, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) {
        const int s0 = dp16(w.lo, a.lo), s1 = dp16(w.hi, a.hi);
        const float dot = static_cast<float>(w.sc0 * s0) * a.a.x + static_cast<float>(w.sc1 * s1) * a.b.x;
        const float mins = static_cast<float>(w.m0) * a.a.y + static_cast<float>(w.m1) * a.b.y;
        return w.d * dot - 0.5f * w.dmin * mins;
    }
};

// Q5_K (16-byte aligned blocks): as Q4_K; the 5th bits of the part's 16 byte positions come from qh[l0 .. l0+15]
// (bit 2c → low-nibble element, bit 2c+1 → high-nibble element), one more 128-bit load.
template <>
struct VecDot<APH_DTYPE_Q5_K> {
    static constexpr int TPB = 8;
    using W = VecDot<APH_DTYPE_Q4_K>::W;  // the same decoded form: scales, mins and (5-bit) codes
    using A = ActK4;
    APH_QB_HD static W load(const uint8_t* wb, int t) {
        const int c = t >> 1, l0 = 16 * (t & 1);
        const u32x4 h = ld_u128(wb);
        W w;
        w.d = f16_to_f32(static_cast<uint16_t>(h.x & 0xFFFFu));
        w.dmin = f16_to_f32(static_cast<uint16_t>(h.x >> 16));
        k4_scale_min(h.y, h.z, h.w, 2 * c, w.sc0, w.m0);
        k4_scale_min(h.y, h.z, h.w, 2 * c + 1, w.sc1, w.m1);
        const u32x4 q = ld_u128(wb + 48 + 32 * c + l0);
        const u32x4 qh = ld_u128(wb + 16 + l0);
        const uint32_t m4 = 0x0F0F0F0Fu, m1 = 0x01010101u;
        const int b0 = 2 * c, b1 = 2 * c + 1;
        w.lo = {(q.x & m4) | (((qh.x >> b0) & m1) << 4), (q.y & m4) | (((qh.y >> b0) & m1) << 4),
                (q.z & m4) | (((qh.z >> b0) & m1) << 4), (q.w & m4) | (((qh.w >> b0) & m1) << 4)};
        w.hi = {((q.x >> 4) & m4) | (((qh.x >> b1) & m1) << 4), ((q.y >> 4) & m4) | (((qh.y >> b1) & m1) << 4),
                ((q.z >> 4) & m4) | (((qh.z >> b1) & m1) << 4), ((q.w >> 4) & m4) | (((qh.w >> b1) & m1) << 4)};
        return w;
    }
    APH_QB_HD static A act(int t, const int8_t* xq, const f32x2* xds) { return act_k4(t, xq, xds); }
    APH_QB_HD static float dot(const W& w, const A& a) { return VecDot<APH_DTYPE_Q4_K>::dot(w, a); }
};

// Q6_K (2-byte aligned blocks): part t = 0..15 takes half h = t/8 and positions l0 = 4·(t%8) .. l0+3, i.e. the
// four runs of 4 elements 128h + 32i + l0 .. +3 (i = 0..3), each in its own 16-element sub-block and 32-element
// activation block. q − 32 is formed per byte (vsubss4) so the dot is signed × signed with no offset term.
template <>
struct VecDot<APH_DTYPE_Q6_K> {
    static constexpr int TPB = 16;
    struct W { float d; uint32_t q[4]; int sc[4]; };
    struct A { uint32_t x[4]; float dx[4]; };
    APH_QB_HD static W load(const uint8_t* wb, int t) {
        const int h = t >> 3, l0 = 4 * (t & 7);
        const uint32_t ql0 = ld_u32_a2(wb + 64 * h + l0), ql1 = ld_u32_a2(wb + 64 * h + 32 + l0);
        const uint32_t qh = ld_u32_a2(wb + 128 + 32 * h + l0);
        const uint32_t m4 = 0x0F0F0F0Fu, m2 = 0x03030303u, k32 = 0x20202020u;
        W w;
        w.d = f16_to_f32(ld_u16(wb + 208));
        w.q[0] = vsubss4((ql0 & m4) | ((qh & m2) << 4), k32);
        w.q[1] = vsubss4((ql1 & m4) | (((qh >> 2) & m2) << 4), k32);
        w.q[2] = vsubss4(((ql0 >> 4) & m4) | (((qh >> 4) & m2) << 4), k32);
        w.q[3] = vsubss4(((ql1 >> 4) & m4) | (((qh >> 6) & m2) << 4), k32);
        const int8_t* sc = reinterpret_cast<const int8_t*>(wb + 192 + 8 * h + (l0 >> 4));
        for (int i = 0; i < 4; ++i) w.sc[i] = sc[2 * i];
        return w;
    }
    APH_QB_HD static A act(int t, const int8_t* xq, const f32x2* xds) {
        const int h = t >> 3, l0 = 4 * (t & 7);
        A a;
        for (int i = 0; i < 4; ++i) {
            a.x[i] = ld_u32_a4(xq + 128 * h + 32 * i + l0);
            a.dx[i] = xds[4 * h + i].x;
        }
        return a;
    }
    APH_QB_HD static float dot(const W& w, const A& a) {
        float acc = 0.0f;
        for (int i = 0; i < 4; ++i) acc += static_cast<float>(w.sc[i] * dp4a(w.q[i], a.x[i], 0)) * a.dx[i];
        return w.d * acc;
    }
};

// ---------------------------------------------------------------------------------------------------------------
// One lane's share of weight rows (quantised weights) × activation columns (ncols ≤ NC are live).
// Lane → (block ib = lane / TPB + j·(32 / TPB), part = lane % TPB): a warp reads 32/TPB consecutive blocks per step.
// ---------------------------------------------------------------------------------------------------------------

// R weight rows (row r at row0 + r·stride; 1 ≤ nrows ≤ R are real) × NC columns: acc[r·NC + c]. Every
// (row, column) accumulates in the same order whatever R and NC are, so decode (R = NC = 1) and the prefill tile
// compute the same per-element arithmetic on the same 8-bit activations (the KV-cache invariant).
template <uint32_t DT, int R, int NC>
APH_QB_HD void lane_tile(const uint8_t* row0, int64_t stride, int nrows, int64_t nblocks, const int8_t* xq,
                         const f32x2* xds, int64_t k, int ncols, int lane, float* acc) {
    using V = VecDot<DT>;
    constexpr int QK = Traits<DT>::QK, BYTES = Traits<DT>::BYTES, BPS = 32 / V::TPB;
    const int part = lane % V::TPB;
    for (int i = 0; i < R * NC; ++i) acc[i] = 0.0f;
    // Decode (one row, one column) unrolls the block loop so each warp keeps several steps of weight loads in flight:
    // 4 for the 32-element types (what nvcc picks by itself), 2 for the K-quants (which it would not unroll).
#if defined(__CUDA_ARCH__)
#pragma unroll(R == 1 && NC == 1 ? (QK == 256 ? 2 : 4) : 1)
#endif
    for (int64_t ib = lane / V::TPB; ib < nblocks; ib += BPS) {
        typename V::W w[R];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int r = 0; r < R; ++r)  // rows past nrows repeat the last valid row; their sums are never stored
            w[r] = V::load(row0 + (r < nrows ? r : nrows - 1) * stride + ib * BYTES, part);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int c = 0; c < NC; ++c) {
            if (c < ncols) {
                const typename V::A a = V::act(part, xq + c * k + ib * QK, xds + c * (k / 32) + ib * (QK / 32));
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
                for (int r = 0; r < R; ++r) acc[r * NC + c] = add_rn(acc[r * NC + c], V::dot(w[r], a));
            }
        }
    }
}

// One lane's share of one weight row for NC columns (the decode GEMV).
template <uint32_t DT, int NC>
APH_QB_HD void lane_partial(const uint8_t* row, int64_t nblocks, const int8_t* xq, const f32x2* xds, int64_t k,
                            int ncols, int lane, float* acc) {
    lane_tile<DT, 1, NC>(row, 0, 1, nblocks, xq, xds, k, ncols, lane, acc);
}

// Float weights: each lane takes 8 consecutive elements per step (lane + 32·j), k a multiple of 8, row and
// activation columns 16-byte aligned; x = f32 activation columns at x0 + c·ldx floats.
template <uint32_t DT>
APH_QB_HD void load8_float(const uint8_t* row, int64_t e, float* w) {
    if constexpr (DT == APH_DTYPE_F32) {
        const u32x4 a = ld_u128(row + 4 * e), b = ld_u128(row + 4 * e + 16);
        const uint32_t v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
        for (int i = 0; i < 8; ++i) w[i] = bits_to_f32(v[i]);
    } else {
        const u32x4 a = ld_u128(row + 2 * e);
        const uint32_t v[4] = {a.x, a.y, a.z, a.w};
        for (int i = 0; i < 4; ++i) {
            if constexpr (DT == APH_DTYPE_F16) {
                w[2 * i] = f16_to_f32(static_cast<uint16_t>(v[i] & 0xFFFFu));
                w[2 * i + 1] = f16_to_f32(static_cast<uint16_t>(v[i] >> 16));
            } else {
                w[2 * i] = bf16_to_f32(static_cast<uint16_t>(v[i] & 0xFFFFu));
                w[2 * i + 1] = bf16_to_f32(static_cast<uint16_t>(v[i] >> 16));
            }
        }
    }
}

template <uint32_t DT, int NC>
APH_QB_HD void lane_partial_float(const uint8_t* row, int64_t k, const float* x0, int64_t ldx, int ncols, int lane,
                                  float* acc) {
    for (int c = 0; c < NC; ++c) acc[c] = 0.0f;
    for (int64_t e = 8 * static_cast<int64_t>(lane); e < k; e += 256) {
        float w[8];
        load8_float<DT>(row, e, w);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int c = 0; c < NC; ++c) {
            if (c < ncols) {
                const float* x = x0 + c * ldx + e;
                const u32x4 a = ld_u128(x), b = ld_u128(x + 4);
                const uint32_t v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
                float s = acc[c];
                for (int i = 0; i < 8; ++i) s = fmaf(w[i], bits_to_f32(v[i]), s);
                acc[c] = s;
            }
        }
    }
}

}  // namespace aprhost::cuda::qb
