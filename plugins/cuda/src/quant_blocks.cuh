// The weight block layouts of every dtype the CUDA kernels read (ggml's public formats + APR_Q4/APR_Q8, as in
// sdk/include/aprhost/reference/quant_blocks.hpp), the load/convert/arithmetic primitives the kernels use, and one
// dequantiser per dtype that turns a group of 8 consecutive elements (1 for the float types) into f32.
//
// Everything here is `__host__ __device__` (APH_QB_HD): a plain C++ translation unit (the host test,
// tests/cuda_quant/) includes this header without CUDA and runs the very same functions on the CPU against the SDK
// reference. Device-only intrinsics sit behind `__CUDA_ARCH__` with an exact host emulation next to them.
//
// Bit-identity with the reference (GET_ROWS is judged "exact"): the dequantisers perform the reference's f32
// operations in the reference's order with explicitly rounded multiplies/adds (__fmul_rn & co. on the device,
// which nvcc never contracts into FMAs); the host build must use -ffp-contract=off for the same reason.
//
// Alignment: blocks are read with 16-bit loads (every block is 2-byte aligned in GGUF/APR data; the CPU backend
// requires the same), except where a function's name says otherwise (ld_u128: 16-byte aligned).
#pragma once

#include <aprhost/abi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#define APH_QB_HD __host__ __device__ __forceinline__
#else
#define APH_QB_HD inline
#endif

namespace aprhost::cuda::qb {

// ---------------------------------------------------------------------------------------------------------------
// Block layouts (byte offsets; sizes pinned against the SDK's structs by the host test)
// ---------------------------------------------------------------------------------------------------------------

constexpr int QK32 = 32;   // elements per block of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/APR_Q4/APR_Q8 (and per q8_1 block)
constexpr int QK_K = 256;  // elements per K-quant super-block

struct block_q4_0 { uint16_t d; uint8_t qs[16]; };                                        // 18 B
struct block_q4_1 { uint16_t d, m; uint8_t qs[16]; };                                     // 20 B
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };                         // 22 B
struct block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };                      // 24 B
struct block_q8_0 { uint16_t d; int8_t qs[32]; };                                         // 34 B
struct block_q4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };             // 144 B
struct block_q5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };  // 176 B
struct block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };    // 210 B
struct block_apr_q4 { uint16_t d; uint8_t qs[16]; };                                      // 18 B
struct block_apr_q8 { float d; int8_t qs[32]; };                                          // 36 B

static_assert(sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20 && sizeof(block_q5_0) == 22 &&
                  sizeof(block_q5_1) == 24 && sizeof(block_q8_0) == 34 && sizeof(block_q4_K) == 144 &&
                  sizeof(block_q5_K) == 176 && sizeof(block_q6_K) == 210 && sizeof(block_apr_q4) == 18 &&
                  sizeof(block_apr_q8) == 36,
              "block layouts must match ggml / APR");
static_assert(offsetof(block_q5_0, qs) == 6 && offsetof(block_q5_1, qs) == 8 && offsetof(block_q5_K, qh) == 16 &&
                  offsetof(block_q5_K, qs) == 48 && offsetof(block_q6_K, scales) == 192 &&
                  offsetof(block_q6_K, d) == 208 && offsetof(block_q4_K, qs) == 16,
              "field offsets used by the kernels");

// ---------------------------------------------------------------------------------------------------------------
// Loads (p points into device memory on the device, host memory in the host test)
// ---------------------------------------------------------------------------------------------------------------

struct u32x4 { uint32_t x, y, z, w; };

APH_QB_HD uint16_t ld_u16(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
    return *reinterpret_cast<const uint16_t*>(p);
#else
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
#endif
}

// A little-endian u32 at a 2-byte aligned address (two 16-bit loads).
APH_QB_HD uint32_t ld_u32_a2(const uint8_t* p) {
    return static_cast<uint32_t>(ld_u16(p)) | (static_cast<uint32_t>(ld_u16(p + 2)) << 16);
}

// A u32 at a 4-byte aligned address.
APH_QB_HD uint32_t ld_u32_a4(const void* p) {
#if defined(__CUDA_ARCH__)
    return *reinterpret_cast<const uint32_t*>(p);
#else
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
#endif
}

// 16 bytes at a 16-byte aligned address: one 128-bit load on the device.
APH_QB_HD u32x4 ld_u128(const void* p) {
#if defined(__CUDA_ARCH__)
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    return {v.x, v.y, v.z, v.w};
#else
    u32x4 v;
    std::memcpy(&v, p, 16);
    return v;
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions and explicitly rounded f32 arithmetic
// ---------------------------------------------------------------------------------------------------------------

APH_QB_HD float bits_to_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}

// IEEE binary16 bits → f32, exact (subnormals, inf and NaN included).
APH_QB_HD float f16_to_f32(uint16_t h) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(h));
#else
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    if (exp == 0x1F) return bits_to_f32(sign | 0x7F800000u | (man << 13));
    if (exp != 0) return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
    if (man == 0) return bits_to_f32(sign);
    uint32_t e = 113;  // subnormal: normalise the mantissa
    while ((man & 0x400u) == 0) {
        man <<= 1;
        --e;
    }
    return bits_to_f32(sign | (e << 23) | ((man & 0x3FFu) << 13));
#endif
}

// bfloat16 bits → f32, exact.
APH_QB_HD float bf16_to_f32(uint16_t b) { return bits_to_f32(static_cast<uint32_t>(b) << 16); }

// Rounded (never fused) f32 operations: the dequantisers must reproduce the reference's rounding step by step.
APH_QB_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}
APH_QB_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}
APH_QB_HD float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// Integer SIMD-in-a-word helpers (device intrinsics; exact host emulations)
// ---------------------------------------------------------------------------------------------------------------

// c + Σ_i a.byte[i] · b.byte[i], bytes as signed int8.
APH_QB_HD int dp4a(uint32_t a, uint32_t b, int c) {
#if defined(__CUDA_ARCH__)
    return __dp4a(static_cast<int>(a), static_cast<int>(b), c);
#else
    for (int i = 0; i < 4; ++i)
        c += static_cast<int>(static_cast<int8_t>(a >> (8 * i))) * static_cast<int>(static_cast<int8_t>(b >> (8 * i)));
    return c;
#endif
}

// Per-byte signed saturating a − b.
APH_QB_HD uint32_t vsubss4(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
    return static_cast<uint32_t>(__vsubss4(static_cast<int>(a), static_cast<int>(b)));
#else
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) {
        int v = static_cast<int8_t>(a >> (8 * i)) - static_cast<int8_t>(b >> (8 * i));
        v = v < -128 ? -128 : (v > 127 ? 127 : v);
        r |= (static_cast<uint32_t>(v) & 0xFFu) << (8 * i);
    }
    return r;
#endif
}

// Byte i of the result = byte (sel >> 4i) & 7 of the 8-byte value {b:a} (a = bytes 0..3). No sign mode.
APH_QB_HD uint32_t byte_perm(uint32_t a, uint32_t b, uint32_t sel) {
#if defined(__CUDA_ARCH__)
    return __byte_perm(a, b, sel);
#else
    const uint64_t v = (static_cast<uint64_t>(b) << 32) | a;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) r |= static_cast<uint32_t>((v >> (8 * ((sel >> (4 * i)) & 7u))) & 0xFFu) << (8 * i);
    return r;
#endif
}

// Round to nearest, ties to even (the device's cvt.rni; the host's default rounding mode).
APH_QB_HD int f32_to_int_rn(float x) {
#if defined(__CUDA_ARCH__)
    return __float2int_rn(x);
#else
    return static_cast<int>(__builtin_rintf(x));
#endif
}

// Bits 0..3 of h → bit 4 of bytes 0..3 (the 5th bit of four Q5 elements).
APH_QB_HD uint32_t spread_bit4(uint32_t h) {
    return ((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25);
}

// Sub-block j (0..7) of a Q4_K/Q5_K block: 6-bit scale and min from the 12 packed bytes given as three
// little-endian words s0 = bytes 0-3, s1 = 4-7, s2 = 8-11 (register shifts only: no dynamic array indexing).
APH_QB_HD void k4_scale_min(uint32_t s0, uint32_t s1, uint32_t s2, int j, int& sc, int& m) {
    if (j < 4) {
        const int sh = 8 * j;
        sc = static_cast<int>((s0 >> sh) & 63u);
        m = static_cast<int>((s1 >> sh) & 63u);
    } else {
        const int sh = 8 * (j - 4);
        sc = static_cast<int>(((s2 >> sh) & 0x0Fu) | (((s0 >> sh) >> 6 & 3u) << 4));
        m = static_cast<int>(((s2 >> sh) >> 4 & 0x0Fu) | (((s1 >> sh) >> 6 & 3u) << 4));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Dequantisers: Traits<dtype>::dequant(row, g, y) writes elements G·g .. G·g+G−1 of the row into y[0..G).
// ---------------------------------------------------------------------------------------------------------------

template <uint32_t DT>
struct Traits;

template <>
struct Traits<APH_DTYPE_F32> {
    static constexpr int QK = 1, BYTES = 4, G = 1;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        y[0] = bits_to_f32(ld_u32_a4(row + 4 * g));
    }
};

template <>
struct Traits<APH_DTYPE_F16> {
    static constexpr int QK = 1, BYTES = 2, G = 1;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) { y[0] = f16_to_f32(ld_u16(row + 2 * g)); }
};

template <>
struct Traits<APH_DTYPE_BF16> {
    static constexpr int QK = 1, BYTES = 2, G = 1;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) { y[0] = bf16_to_f32(ld_u16(row + 2 * g)); }
};

// Q4_0: element j = d·((qs[j] & 15) − 8), element j+16 = d·((qs[j] >> 4) − 8). Groups 0,1 = low nibbles of
// qs[0..7], qs[8..15]; groups 2,3 = their high nibbles.
template <>
struct Traits<APH_DTYPE_Q4_0> {
    static constexpr int QK = 32, BYTES = 18, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 2) * BYTES;
        const int sub = static_cast<int>(g & 3);
        const float d = f16_to_f32(ld_u16(b));
        const uint8_t* qs = b + 2 + 8 * (sub & 1);
        const int shift = sub >= 2 ? 4 : 0;
        for (int i = 0; i < 8; ++i) y[i] = mul_rn(d, static_cast<float>(((qs[i] >> shift) & 0x0F) - 8));
    }
};

// Q4_1: element = d·q + m, nibble order as Q4_0.
template <>
struct Traits<APH_DTYPE_Q4_1> {
    static constexpr int QK = 32, BYTES = 20, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 2) * BYTES;
        const int sub = static_cast<int>(g & 3);
        const float d = f16_to_f32(ld_u16(b));
        const float m = f16_to_f32(ld_u16(b + 2));
        const uint8_t* qs = b + 4 + 8 * (sub & 1);
        const int shift = sub >= 2 ? 4 : 0;
        for (int i = 0; i < 8; ++i) y[i] = add_rn(mul_rn(d, static_cast<float>((qs[i] >> shift) & 0x0F)), m);
    }
};

// Q5_0: q = nibble | (bit e of the little-endian u32 qh) << 4; element e = d·(q − 16).
template <>
struct Traits<APH_DTYPE_Q5_0> {
    static constexpr int QK = 32, BYTES = 22, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 2) * BYTES;
        const int sub = static_cast<int>(g & 3);
        const float d = f16_to_f32(ld_u16(b));
        const uint32_t qh = ld_u32_a2(b + 2);
        const uint8_t* qs = b + 6 + 8 * (sub & 1);
        const int shift = sub >= 2 ? 4 : 0;
        for (int i = 0; i < 8; ++i) {
            const int e = 8 * sub + i;
            const int q = static_cast<int>(((qs[i] >> shift) & 0x0Fu) | (((qh >> e) & 1u) << 4));
            y[i] = mul_rn(d, static_cast<float>(q - 16));
        }
    }
};

// Q5_1: q as Q5_0; element = d·q + m.
template <>
struct Traits<APH_DTYPE_Q5_1> {
    static constexpr int QK = 32, BYTES = 24, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 2) * BYTES;
        const int sub = static_cast<int>(g & 3);
        const float d = f16_to_f32(ld_u16(b));
        const float m = f16_to_f32(ld_u16(b + 2));
        const uint32_t qh = ld_u32_a2(b + 4);
        const uint8_t* qs = b + 8 + 8 * (sub & 1);
        const int shift = sub >= 2 ? 4 : 0;
        for (int i = 0; i < 8; ++i) {
            const int e = 8 * sub + i;
            const uint32_t q = ((qs[i] >> shift) & 0x0Fu) | (((qh >> e) & 1u) << 4);
            y[i] = add_rn(mul_rn(d, static_cast<float>(q)), m);
        }
    }
};

// Q8_0: element i = d·qs[i].
template <>
struct Traits<APH_DTYPE_Q8_0> {
    static constexpr int QK = 32, BYTES = 34, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 2) * BYTES;
        const int sub = static_cast<int>(g & 3);
        const float d = f16_to_f32(ld_u16(b));
        const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2 + 8 * sub);
        for (int i = 0; i < 8; ++i) y[i] = mul_rn(d, static_cast<float>(qs[i]));
    }
};

// Q4_K: element 64c + l (l < 32) = low nibble of qs[32c + l], sub-block 2c; 64c + 32 + l = its high nibble,
// sub-block 2c+1. Element = (d·sc)·q − dmin·m with the products rounded as the reference forms them.
template <>
struct Traits<APH_DTYPE_Q4_K> {
    static constexpr int QK = 256, BYTES = 144, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 5) * BYTES;
        const int e0 = 8 * static_cast<int>(g & 31);
        const int c = e0 >> 6, hi = (e0 >> 5) & 1, l0 = e0 & 31;
        int sc, m;
        k4_scale_min(ld_u32_a2(b + 4), ld_u32_a2(b + 8), ld_u32_a2(b + 12), 2 * c + hi, sc, m);
        const float dl = mul_rn(f16_to_f32(ld_u16(b)), static_cast<float>(sc));
        const float ml = mul_rn(f16_to_f32(ld_u16(b + 2)), static_cast<float>(m));
        const uint8_t* qs = b + 16 + 32 * c + l0;
        for (int i = 0; i < 8; ++i) y[i] = sub_rn(mul_rn(dl, static_cast<float>((qs[i] >> (4 * hi)) & 0x0F)), ml);
    }
};

// Q5_K: as Q4_K plus a 5th bit: element 64c + l takes bit 2c of qh[l], 64c + 32 + l bit 2c+1.
template <>
struct Traits<APH_DTYPE_Q5_K> {
    static constexpr int QK = 256, BYTES = 176, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 5) * BYTES;
        const int e0 = 8 * static_cast<int>(g & 31);
        const int c = e0 >> 6, hi = (e0 >> 5) & 1, l0 = e0 & 31;
        int sc, m;
        k4_scale_min(ld_u32_a2(b + 4), ld_u32_a2(b + 8), ld_u32_a2(b + 12), 2 * c + hi, sc, m);
        const float dl = mul_rn(f16_to_f32(ld_u16(b)), static_cast<float>(sc));
        const float ml = mul_rn(f16_to_f32(ld_u16(b + 2)), static_cast<float>(m));
        const uint8_t* qh = b + 16 + l0;
        const uint8_t* qs = b + 48 + 32 * c + l0;
        for (int i = 0; i < 8; ++i) {
            const int q = ((qs[i] >> (4 * hi)) & 0x0F) | (((qh[i] >> (2 * c + hi)) & 1) << 4);
            y[i] = sub_rn(mul_rn(dl, static_cast<float>(q)), ml);
        }
    }
};

// Q6_K: half h = e / 128, r = e % 128, quarter t = r / 32, l = r % 32: low 4 bits from ql[64h + l + 32·(t & 1)]
// (high nibble when t ≥ 2), high 2 bits = bits 2t..2t+1 of qh[32h + l]; element = (d·scales[8h + l/16 + 2t])·(q − 32).
template <>
struct Traits<APH_DTYPE_Q6_K> {
    static constexpr int QK = 256, BYTES = 210, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 5) * BYTES;
        const int e0 = 8 * static_cast<int>(g & 31);
        const int h = e0 >> 7, t = (e0 >> 5) & 3, l0 = e0 & 31;
        const float d = f16_to_f32(ld_u16(b + 208));
        const float ds = mul_rn(d, static_cast<float>(static_cast<int8_t>(b[192 + 8 * h + (l0 >> 4) + 2 * t])));
        const uint8_t* ql = b + 64 * h + 32 * (t & 1) + l0;
        const uint8_t* qh = b + 128 + 32 * h + l0;
        for (int i = 0; i < 8; ++i) {
            const int q = (((ql[i] >> (4 * (t >> 1))) & 0x0F) | (((qh[i] >> (2 * t)) & 3) << 4)) - 32;
            y[i] = mul_rn(ds, static_cast<float>(q));
        }
    }
};

// APR_Q4: element 2j = d·(lo(qs[j]) − 8), element 2j+1 = d·(hi(qs[j]) − 8).
template <>
struct Traits<APH_DTYPE_APR_Q4> {
    static constexpr int QK = 32, BYTES = 18, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 2) * BYTES;
        const float d = f16_to_f32(ld_u16(b));
        const uint8_t* qs = b + 2 + 4 * static_cast<int>(g & 3);
        for (int j = 0; j < 4; ++j) {
            y[2 * j] = mul_rn(static_cast<float>((qs[j] & 0x0F) - 8), d);
            y[2 * j + 1] = mul_rn(static_cast<float>((qs[j] >> 4) - 8), d);
        }
    }
};

// APR_Q8: element i = d·qs[i] with an f32 d (read as two 16-bit halves: blocks are only 2-byte aligned).
template <>
struct Traits<APH_DTYPE_APR_Q8> {
    static constexpr int QK = 32, BYTES = 36, G = 8;
    APH_QB_HD static void dequant(const uint8_t* row, int64_t g, float* y) {
        const uint8_t* b = row + (g >> 2) * BYTES;
        const float d = bits_to_f32(ld_u32_a2(b));
        const int8_t* qs = reinterpret_cast<const int8_t*>(b + 4 + 8 * static_cast<int>(g & 3));
        for (int i = 0; i < 8; ++i) y[i] = mul_rn(d, static_cast<float>(qs[i]));
    }
};

// Calls f(std::integral_constant-like tag) for a runtime dtype; returns false for a dtype without Traits.
template <uint32_t DT>
struct DtypeTag {
    static constexpr uint32_t value = DT;
};

template <typename F>
inline bool visit_weight_dtype(uint32_t dtype, F&& f) {
    switch (dtype) {
        case APH_DTYPE_F32: f(DtypeTag<APH_DTYPE_F32>{}); return true;
        case APH_DTYPE_F16: f(DtypeTag<APH_DTYPE_F16>{}); return true;
        case APH_DTYPE_BF16: f(DtypeTag<APH_DTYPE_BF16>{}); return true;
        case APH_DTYPE_Q4_0: f(DtypeTag<APH_DTYPE_Q4_0>{}); return true;
        case APH_DTYPE_Q4_1: f(DtypeTag<APH_DTYPE_Q4_1>{}); return true;
        case APH_DTYPE_Q5_0: f(DtypeTag<APH_DTYPE_Q5_0>{}); return true;
        case APH_DTYPE_Q5_1: f(DtypeTag<APH_DTYPE_Q5_1>{}); return true;
        case APH_DTYPE_Q8_0: f(DtypeTag<APH_DTYPE_Q8_0>{}); return true;
        case APH_DTYPE_Q4_K: f(DtypeTag<APH_DTYPE_Q4_K>{}); return true;
        case APH_DTYPE_Q5_K: f(DtypeTag<APH_DTYPE_Q5_K>{}); return true;
        case APH_DTYPE_Q6_K: f(DtypeTag<APH_DTYPE_Q6_K>{}); return true;
        case APH_DTYPE_APR_Q4: f(DtypeTag<APH_DTYPE_APR_Q4>{}); return true;
        case APH_DTYPE_APR_Q8: f(DtypeTag<APH_DTYPE_APR_Q8>{}); return true;
        default: return false;
    }
}

}  // namespace aprhost::cuda::qb
