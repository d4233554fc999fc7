// Scalar reference quantizers: f32 → every dtype dequant.hpp reads (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q4_K, Q5_K, Q6_K, Q8_K). They exist to make test data and synthetic models, not to maximise quality: each block
// gets a plain max-based scale and every value is rounded to the nearest code (std::nearbyint, ties to even).
// Scales are rounded to their stored precision (f16, 6-bit, int8) BEFORE the codes are chosen, so the codes are
// the nearest ones for the scale a reader will actually see. A block of zeros gets scale 0 and code "zero".
//
// The byte layouts are those of quant_blocks.hpp; dequantize_row() inverts them. Output may be unaligned.
// Errors (unsupported dtype, n not a whole number of blocks) throw std::invalid_argument.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/fp16.hpp>
#include <aprhost/reference/quant_blocks.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace aprhost::ref {

namespace detail {

// Nearest integer to v (ties to even), clamped to [lo, hi].
inline int nearest_clamped(float v, int lo, int hi) {
    const float r = std::nearbyint(v);
    if (!(r >= static_cast<float>(lo))) {  // also catches NaN
        return lo;
    }
    if (r > static_cast<float>(hi)) {
        return hi;
    }
    return static_cast<int>(r);
}

// Store block i into an unaligned byte stream.
template <typename Block>
inline void store_block(void* dst, int64_t i, const Block& b) {
    std::memcpy(static_cast<uint8_t*>(dst) + static_cast<size_t>(i) * sizeof(Block), &b, sizeof(Block));
}

// The element of x[0..n) with the largest magnitude, sign kept (the first one on ties).
inline float signed_absmax(const float* x, int n) {
    float best = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > std::fabs(best)) {
            best = x[i];
        }
    }
    return best;
}

inline float absmax(const float* x, int n) { return std::fabs(signed_absmax(x, n)); }

// 1/d, or 0 for d == 0 so a zero block quantizes to zero codes.
inline float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// Set the 5th bit of element e in a Q5_0/Q5_1 qh field.
inline void set_q5_high_bit(uint8_t qh[4], int e, int bit) {
    qh[e / 8] = static_cast<uint8_t>(qh[e / 8] | ((bit & 1) << (e % 8)));
}

// Q4_K/Q5_K sub-block parameters: for each of 8 sub-blocks of 32, the 6-bit scale sc and min m against the
// super-block d, dmin (already rounded to f16) such that x ≈ d·sc·q − dmin·m with q in 0..qmax.
// The sub-block minimum is clamped to ≤ 0 (mins are stored as a non-negative amount to subtract), and sc is
// rounded UP so that the sub-block's largest value is never clipped by the top code.
inline void k_quant_scales(const float* x, int qmax, uint16_t* d_out, uint16_t* dmin_out, uint8_t sc[8],
                           uint8_t m[8]) {
    float scale[8], minv[8];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int s = 0; s < 8; ++s) {
        float lo = 0.0f, hi = x[32 * s];
        for (int l = 0; l < 32; ++l) {
            lo = std::min(lo, x[32 * s + l]);
            hi = std::max(hi, x[32 * s + l]);
        }
        scale[s] = std::max(hi - lo, 0.0f) / static_cast<float>(qmax);
        minv[s] = -lo;
        max_scale = std::max(max_scale, scale[s]);
        max_min = std::max(max_min, minv[s]);
    }
    *d_out = fp32_to_fp16(max_scale / 63.0f);
    *dmin_out = fp32_to_fp16(max_min / 63.0f);
    const float d = fp16_to_fp32(*d_out);
    const float dmin = fp16_to_fp32(*dmin_out);
    for (int s = 0; s < 8; ++s) {
        sc[s] = static_cast<uint8_t>(d > 0.0f ? std::clamp(static_cast<int>(std::ceil(scale[s] / d)), 0, 63) : 0);
        m[s] = static_cast<uint8_t>(dmin > 0.0f ? nearest_clamped(minv[s] / dmin, 0, 63) : 0);
    }
}

inline int64_t checked_blocks_q(int64_t n, int64_t qk, const char* type) {
    if (n < 0 || n % qk != 0) {
        throw std::invalid_argument(std::string("quantize ") + type + ": n=" + std::to_string(n) +
                                    " is not a non-negative multiple of " + std::to_string(qk));
    }
    return n / qk;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------------------
// One function per dtype: x = n floats, dst = row_bytes(dtype, n) bytes
// ---------------------------------------------------------------------------------------------------------------

// F32 → F16 (round to nearest even per element).
inline void quantize_row_f16(const float* x, void* dst, int64_t n) {
    detail::checked_blocks_q(n, 1, "f16");
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_fp16(x[i]);
        std::memcpy(static_cast<uint8_t*>(dst) + 2 * i, &h, 2);
    }
}

// F32 → BF16 (round to nearest even per element).
inline void quantize_row_bf16(const float* x, void* dst, int64_t n) {
    detail::checked_blocks_q(n, 1, "bf16");
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_bf16(x[i]);
        std::memcpy(static_cast<uint8_t*>(dst) + 2 * i, &h, 2);
    }
}

// Q8_0: d = amax/127, q = nearest(x/d) in −127..127.
inline void quantize_row_q8_0(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK8_0, "q8_0");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK8_0;
        block_q8_0 blk{};
        blk.d = fp32_to_fp16(detail::absmax(xb, QK8_0) / 127.0f);
        const float id = detail::inverse_or_zero(fp16_to_fp32(blk.d));
        for (int i = 0; i < QK8_0; ++i) {
            blk.qs[i] = static_cast<int8_t>(detail::nearest_clamped(xb[i] * id, -127, 127));
        }
        detail::store_block(dst, b, blk);
    }
}

// Q4_0: d = −(signed absmax)/8 so the largest-magnitude value gets code 0 exactly (the full −8..7 range is used);
// q = nearest(x/d) + 8 clamped to 0..15.
inline void quantize_row_q4_0(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK4_0, "q4_0");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK4_0;
        block_q4_0 blk{};
        blk.d = fp32_to_fp16(detail::signed_absmax(xb, QK4_0) / -8.0f);
        const float id = detail::inverse_or_zero(fp16_to_fp32(blk.d));
        for (int j = 0; j < QK4_0 / 2; ++j) {
            const int lo = detail::nearest_clamped(xb[j] * id + 8.0f, 0, 15);
            const int hi = detail::nearest_clamped(xb[j + QK4_0 / 2] * id + 8.0f, 0, 15);
            blk.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
        detail::store_block(dst, b, blk);
    }
}

// Q4_1: m = min, d = (max − min)/15, q = nearest((x − m)/d) in 0..15.
inline void quantize_row_q4_1(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK4_1, "q4_1");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK4_1;
        const auto [lo_it, hi_it] = std::minmax_element(xb, xb + QK4_1);
        block_q4_1 blk{};
        blk.d = fp32_to_fp16((*hi_it - *lo_it) / 15.0f);
        blk.m = fp32_to_fp16(*lo_it);
        const float id = detail::inverse_or_zero(fp16_to_fp32(blk.d));
        const float m = fp16_to_fp32(blk.m);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            const int lo = detail::nearest_clamped((xb[j] - m) * id, 0, 15);
            const int hi = detail::nearest_clamped((xb[j + QK4_1 / 2] - m) * id, 0, 15);
            blk.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
        detail::store_block(dst, b, blk);
    }
}

// Q5_0: d = −(signed absmax)/16, q = nearest(x/d) + 16 clamped to 0..31.
inline void quantize_row_q5_0(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK5_0, "q5_0");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK5_0;
        block_q5_0 blk{};
        blk.d = fp32_to_fp16(detail::signed_absmax(xb, QK5_0) / -16.0f);
        const float id = detail::inverse_or_zero(fp16_to_fp32(blk.d));
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int lo = detail::nearest_clamped(xb[j] * id + 16.0f, 0, 31);
            const int hi = detail::nearest_clamped(xb[j + QK5_0 / 2] * id + 16.0f, 0, 31);
            blk.qs[j] = static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
            detail::set_q5_high_bit(blk.qh, j, lo >> 4);
            detail::set_q5_high_bit(blk.qh, j + QK5_0 / 2, hi >> 4);
        }
        detail::store_block(dst, b, blk);
    }
}

// Q5_1: m = min, d = (max − min)/31, q = nearest((x − m)/d) in 0..31.
inline void quantize_row_q5_1(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK5_1, "q5_1");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK5_1;
        const auto [lo_it, hi_it] = std::minmax_element(xb, xb + QK5_1);
        block_q5_1 blk{};
        blk.d = fp32_to_fp16((*hi_it - *lo_it) / 31.0f);
        blk.m = fp32_to_fp16(*lo_it);
        const float id = detail::inverse_or_zero(fp16_to_fp32(blk.d));
        const float m = fp16_to_fp32(blk.m);
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int lo = detail::nearest_clamped((xb[j] - m) * id, 0, 31);
            const int hi = detail::nearest_clamped((xb[j + QK5_1 / 2] - m) * id, 0, 31);
            blk.qs[j] = static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
            detail::set_q5_high_bit(blk.qh, j, lo >> 4);
            detail::set_q5_high_bit(blk.qh, j + QK5_1 / 2, hi >> 4);
        }
        detail::store_block(dst, b, blk);
    }
}

// Q4_K: per sub-block of 32, scale = (max − min(min, 0))/15 and min = −min(min, 0), stored as 6-bit multiples of
// the super-block d = max scale/63 and dmin = max min/63; q = nearest((x + dmin·m)/(d·sc)) in 0..15.
inline void quantize_row_q4_K(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK_K, "q4_K");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK_K;
        block_q4_K blk{};
        uint8_t sc[8], m[8];
        detail::k_quant_scales(xb, 15, &blk.d, &blk.dmin, sc, m);
        pack_scale_min_k4(sc, m, blk.scales);
        const float d = fp16_to_fp32(blk.d), dmin = fp16_to_fp32(blk.dmin);
        for (int e = 0; e < QK_K; ++e) {
            const int s = e / 32;
            const float id = detail::inverse_or_zero(d * sc[s]);
            const int q = detail::nearest_clamped((xb[e] + dmin * m[s]) * id, 0, 15);
            // Element e lives in chunk e/64: low nibble for its first 32 elements, high nibble for the next 32.
            const int c = e / 64, r = e % 64;
            uint8_t& byte = blk.qs[32 * c + r % 32];
            byte = static_cast<uint8_t>(r < 32 ? ((byte & 0xF0) | q) : ((byte & 0x0F) | (q << 4)));
        }
        detail::store_block(dst, b, blk);
    }
}

// Q5_K: as Q4_K with 31 levels; the 5th bit of element e is bit e/32 of qh[e%32].
inline void quantize_row_q5_K(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK_K, "q5_K");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK_K;
        block_q5_K blk{};
        uint8_t sc[8], m[8];
        detail::k_quant_scales(xb, 31, &blk.d, &blk.dmin, sc, m);
        pack_scale_min_k4(sc, m, blk.scales);
        const float d = fp16_to_fp32(blk.d), dmin = fp16_to_fp32(blk.dmin);
        for (int e = 0; e < QK_K; ++e) {
            const int s = e / 32;
            const float id = detail::inverse_or_zero(d * sc[s]);
            const int q = detail::nearest_clamped((xb[e] + dmin * m[s]) * id, 0, 31);
            const int c = e / 64, r = e % 64, l = r % 32;
            uint8_t& byte = blk.qs[32 * c + l];
            byte = static_cast<uint8_t>(r < 32 ? ((byte & 0xF0) | (q & 0x0F)) : ((byte & 0x0F) | ((q & 0x0F) << 4)));
            blk.qh[l] = static_cast<uint8_t>(blk.qh[l] | ((q >> 4) << s));
        }
        detail::store_block(dst, b, blk);
    }
}

// Q6_K: per sub-block of 16, scale = −(signed absmax)/32 (largest value gets code −32), stored as an int8
// multiple of d = max |scale|/127; q = nearest(x/(d·sc)) + 32 clamped to 0..63.
inline void quantize_row_q6_K(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK_K, "q6_K");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK_K;
        block_q6_K blk{};
        float scale[16];
        float max_scale = 0.0f;
        for (int s = 0; s < 16; ++s) {
            scale[s] = detail::signed_absmax(xb + 16 * s, 16) / -32.0f;
            max_scale = std::max(max_scale, std::fabs(scale[s]));
        }
        blk.d = fp32_to_fp16(max_scale / 127.0f);
        const float d = fp16_to_fp32(blk.d);
        const float id = detail::inverse_or_zero(d);
        for (int s = 0; s < 16; ++s) {
            blk.scales[s] = static_cast<int8_t>(detail::nearest_clamped(scale[s] * id, -127, 127));
        }
        for (int e = 0; e < QK_K; ++e) {
            const float ids = detail::inverse_or_zero(d * blk.scales[e / 16]);
            const int q = detail::nearest_clamped(xb[e] * ids + 32.0f, 0, 63);
            // Half h = e/128; inside it, group g = (e%128)/32 picks ql[l] or ql[l+32] (g odd) and the low (g < 2)
            // or high nibble; qh[l] holds the top 2 bits at bit 2g.
            const int h = e / 128, r = e % 128, g = r / 32, l = r % 32;
            uint8_t& lo = blk.ql[64 * h + l + 32 * (g & 1)];
            lo = static_cast<uint8_t>(g < 2 ? ((lo & 0xF0) | (q & 0x0F)) : ((lo & 0x0F) | ((q & 0x0F) << 4)));
            blk.qh[32 * h + l] = static_cast<uint8_t>(blk.qh[32 * h + l] | ((q >> 4) << (2 * g)));
        }
        detail::store_block(dst, b, blk);
    }
}

// Q8_K: d = amax/127 (f32), q = nearest(x/d) in −127..127, bsums[g] = sum of q over elements 16g..16g+15.
inline void quantize_row_q8_K(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK_K, "q8_K");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK_K;
        block_q8_K blk{};
        blk.d = detail::absmax(xb, QK_K) / 127.0f;
        const float id = detail::inverse_or_zero(blk.d);
        for (int i = 0; i < QK_K; ++i) {
            blk.qs[i] = static_cast<int8_t>(detail::nearest_clamped(xb[i] * id, -127, 127));
        }
        for (int g = 0; g < QK_K / 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) {
                sum += blk.qs[16 * g + i];
            }
            blk.bsums[g] = static_cast<int16_t>(sum);
        }
        detail::store_block(dst, b, blk);
    }
}

// APR_Q4: d = −(signed absmax)/8 as for Q4_0; q = nearest(x/d) + 8 clamped to 0..15; pairs packed per byte.
inline void quantize_row_apr_q4(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK_APR, "apr_q4");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK_APR;
        block_apr_q4 blk{};
        blk.d = fp32_to_fp16(-detail::signed_absmax(xb, QK_APR) / 8.0f);
        const float id = detail::inverse_or_zero(fp16_to_fp32(blk.d));
        for (int j = 0; j < QK_APR / 2; ++j) {
            const int lo = detail::nearest_clamped(xb[2 * j] * id + 8.0f, 0, 15);
            const int hi = detail::nearest_clamped(xb[2 * j + 1] * id + 8.0f, 0, 15);
            blk.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
        detail::store_block(dst, b, blk);
    }
}

// APR_Q8: per block d = amax/127 (f32), q = nearest(x/d) in −127..127.
inline void quantize_row_apr_q8(const float* x, void* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks_q(n, QK_APR, "apr_q8");
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x + b * QK_APR;
        block_apr_q8 blk{};
        blk.d = detail::absmax(xb, QK_APR) / 127.0f;
        const float id = detail::inverse_or_zero(blk.d);
        for (int i = 0; i < QK_APR; ++i) blk.qs[i] = static_cast<int8_t>(detail::nearest_clamped(xb[i] * id, -127, 127));
        detail::store_block(dst, b, blk);
    }
}

// True for the dtypes quantize_row() can write (the same set dequantize_row() reads).
inline bool quantize_supported(uint32_t dtype) { return dtype_supported(dtype); }

// Quantize x[n] into dst (row_bytes(dtype, n) bytes) as dtype (an aph_dtype id). F32 is a copy.
// Throws std::invalid_argument for an unsupported dtype or n not a whole number of blocks.
inline void quantize_row(uint32_t dtype, const float* x, void* dst, int64_t n) {
    switch (dtype) {
        case APH_DTYPE_F32:
            detail::checked_blocks_q(n, 1, "f32");
            std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
            return;
        case APH_DTYPE_F16: quantize_row_f16(x, dst, n); return;
        case APH_DTYPE_BF16: quantize_row_bf16(x, dst, n); return;
        case APH_DTYPE_Q4_0: quantize_row_q4_0(x, dst, n); return;
        case APH_DTYPE_Q4_1: quantize_row_q4_1(x, dst, n); return;
        case APH_DTYPE_Q5_0: quantize_row_q5_0(x, dst, n); return;
        case APH_DTYPE_Q5_1: quantize_row_q5_1(x, dst, n); return;
        case APH_DTYPE_Q8_0: quantize_row_q8_0(x, dst, n); return;
        case APH_DTYPE_Q4_K: quantize_row_q4_K(x, dst, n); return;
        case APH_DTYPE_Q5_K: quantize_row_q5_K(x, dst, n); return;
        case APH_DTYPE_Q6_K: quantize_row_q6_K(x, dst, n); return;
        case APH_DTYPE_Q8_K: quantize_row_q8_K(x, dst, n); return;
        case APH_DTYPE_APR_Q4: quantize_row_apr_q4(x, dst, n); return;
        case APH_DTYPE_APR_Q8: quantize_row_apr_q8(x, dst, n); return;
        default: break;
    }
    throw std::invalid_argument("quantize: unsupported dtype " + std::to_string(dtype));
}

// Same, taking the enum.
inline void quantize_row(aph_dtype dtype, const float* x, void* dst, int64_t n) {
    quantize_row(static_cast<uint32_t>(dtype), x, dst, n);
}

}  // namespace aprhost::ref
