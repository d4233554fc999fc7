// Scalar reference dequantizers: one function per dtype turning a row of packed elements into f32 (the block-size
// facts every kernel needs, block_elems/block_bytes/row_bytes, live in quant_blocks.hpp, included here). These are
// the oracle of the conformance suite; they favour plainness over speed. Inputs may be unaligned (blocks are copied
// out with memcpy before their fields are read).
//
// Errors (unsupported dtype, n not a whole number of blocks, n < 0) throw std::invalid_argument; a plugin
// calling these from an ABI trampoline turns that into a status like any other exception.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/reference/fp16.hpp>
#include <aprhost/reference/quant_blocks.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace aprhost::ref {

namespace detail {

// Number of whole blocks in n elements, or throw naming the type.
inline int64_t checked_blocks(int64_t n, int64_t qk, const char* type) {
    if (n < 0 || n % qk != 0) {
        throw std::invalid_argument(std::string("dequantize ") + type + ": n=" + std::to_string(n) +
                                    " is not a non-negative multiple of " + std::to_string(qk));
    }
    return n / qk;
}

// Copy block i of an unaligned byte stream into a properly aligned struct.
template <typename Block>
inline Block load_block(const void* src, int64_t i) {
    Block b;
    std::memcpy(&b, static_cast<const uint8_t*>(src) + static_cast<size_t>(i) * sizeof(Block), sizeof(Block));
    return b;
}

// Bit i (0..31) of a Q5_0/Q5_1 qh field, read as a little-endian u32.
inline uint32_t q5_high_bit(const uint8_t qh[4], int i) {
    const uint32_t bits = static_cast<uint32_t>(qh[0]) | (static_cast<uint32_t>(qh[1]) << 8) |
                          (static_cast<uint32_t>(qh[2]) << 16) | (static_cast<uint32_t>(qh[3]) << 24);
    return (bits >> i) & 1u;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------------------
// One function per dtype: src = n elements' worth of packed bytes, dst = n floats
// ---------------------------------------------------------------------------------------------------------------

// F32 → F32 (a copy).
inline void dequantize_row_f32(const void* src, float* dst, int64_t n) {
    detail::checked_blocks(n, 1, "f32");
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

// F16 (raw IEEE half bits, little-endian) → F32, exact.
inline void dequantize_row_f16(const void* src, float* dst, int64_t n) {
    detail::checked_blocks(n, 1, "f16");
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, static_cast<const uint8_t*>(src) + 2 * i, 2);
        dst[i] = fp16_to_fp32(h);
    }
}

// BF16 → F32, exact.
inline void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
    detail::checked_blocks(n, 1, "bf16");
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, static_cast<const uint8_t*>(src) + 2 * i, 2);
        dst[i] = bf16_to_fp32(h);
    }
}

// Q4_0: element j = d·((qs[j] & 15) − 8), element j+16 = d·((qs[j] >> 4) − 8).
inline void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK4_0, "q4_0");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q4_0>(src, b);
        const float d = fp16_to_fp32(blk.d);
        float* y = dst + b * QK4_0;
        for (int j = 0; j < QK4_0 / 2; ++j) {
            y[j] = d * static_cast<float>((blk.qs[j] & 0x0F) - 8);
            y[j + QK4_0 / 2] = d * static_cast<float>((blk.qs[j] >> 4) - 8);
        }
    }
}

// Q4_1: element = d·q + m, nibble order as Q4_0.
inline void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK4_1, "q4_1");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q4_1>(src, b);
        const float d = fp16_to_fp32(blk.d);
        const float m = fp16_to_fp32(blk.m);
        float* y = dst + b * QK4_1;
        for (int j = 0; j < QK4_1 / 2; ++j) {
            y[j] = d * static_cast<float>(blk.qs[j] & 0x0F) + m;
            y[j + QK4_1 / 2] = d * static_cast<float>(blk.qs[j] >> 4) + m;
        }
    }
}

// Q5_0: q = nibble | (qh bit i) << 4; element = d·(q − 16).
inline void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK5_0, "q5_0");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q5_0>(src, b);
        const float d = fp16_to_fp32(blk.d);
        float* y = dst + b * QK5_0;
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int lo = static_cast<int>((blk.qs[j] & 0x0F) | (detail::q5_high_bit(blk.qh, j) << 4));
            const int hi = static_cast<int>((blk.qs[j] >> 4) | (detail::q5_high_bit(blk.qh, j + 16) << 4));
            y[j] = d * static_cast<float>(lo - 16);
            y[j + QK5_0 / 2] = d * static_cast<float>(hi - 16);
        }
    }
}

// Q5_1: q as Q5_0; element = d·q + m.
inline void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK5_1, "q5_1");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q5_1>(src, b);
        const float d = fp16_to_fp32(blk.d);
        const float m = fp16_to_fp32(blk.m);
        float* y = dst + b * QK5_1;
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const uint32_t lo = (blk.qs[j] & 0x0Fu) | (detail::q5_high_bit(blk.qh, j) << 4);
            const uint32_t hi = (blk.qs[j] >> 4) | (detail::q5_high_bit(blk.qh, j + 16) << 4);
            y[j] = d * static_cast<float>(lo) + m;
            y[j + QK5_1 / 2] = d * static_cast<float>(hi) + m;
        }
    }
}

// Q8_0: element i = d·qs[i].
inline void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK8_0, "q8_0");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q8_0>(src, b);
        const float d = fp16_to_fp32(blk.d);
        for (int i = 0; i < QK8_0; ++i) {
            dst[b * QK8_0 + i] = d * static_cast<float>(blk.qs[i]);
        }
    }
}

// Q4_K: sub-block s (32 elements) has 6-bit (sc, m); element = d·sc·q − dmin·m. Chunk c of 64 elements reads
// qs[32c..32c+31]: low nibbles → sub-block 2c, high nibbles → sub-block 2c+1.
inline void dequantize_row_q4_K(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK_K, "q4_K");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q4_K>(src, b);
        const float d = fp16_to_fp32(blk.d);
        const float dmin = fp16_to_fp32(blk.dmin);
        float* y = dst + b * QK_K;
        for (int c = 0; c < 4; ++c) {
            uint8_t sc0, m0, sc1, m1;
            get_scale_min_k4(2 * c, blk.scales, &sc0, &m0);
            get_scale_min_k4(2 * c + 1, blk.scales, &sc1, &m1);
            const float d0 = d * sc0, min0 = dmin * m0;
            const float d1 = d * sc1, min1 = dmin * m1;
            const uint8_t* q = blk.qs + 32 * c;
            for (int l = 0; l < 32; ++l) {
                y[64 * c + l] = d0 * static_cast<float>(q[l] & 0x0F) - min0;
                y[64 * c + 32 + l] = d1 * static_cast<float>(q[l] >> 4) - min1;
            }
        }
    }
}

// Q5_K: as Q4_K with a 5th bit: element 64c+l takes bit 2c of qh[l], element 64c+32+l bit 2c+1.
inline void dequantize_row_q5_K(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK_K, "q5_K");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q5_K>(src, b);
        const float d = fp16_to_fp32(blk.d);
        const float dmin = fp16_to_fp32(blk.dmin);
        float* y = dst + b * QK_K;
        for (int c = 0; c < 4; ++c) {
            uint8_t sc0, m0, sc1, m1;
            get_scale_min_k4(2 * c, blk.scales, &sc0, &m0);
            get_scale_min_k4(2 * c + 1, blk.scales, &sc1, &m1);
            const float d0 = d * sc0, min0 = dmin * m0;
            const float d1 = d * sc1, min1 = dmin * m1;
            const uint8_t* q = blk.qs + 32 * c;
            for (int l = 0; l < 32; ++l) {
                const int q0 = (q[l] & 0x0F) | (((blk.qh[l] >> (2 * c)) & 1) << 4);
                const int q1 = (q[l] >> 4) | (((blk.qh[l] >> (2 * c + 1)) & 1) << 4);
                y[64 * c + l] = d0 * static_cast<float>(q0) - min0;
                y[64 * c + 32 + l] = d1 * static_cast<float>(q1) - min1;
            }
        }
    }
}

// Q6_K: element = d·scales[e/16]·(q − 32), q = 4 low bits from ql | 2 high bits from qh (layout in
// quant_blocks.hpp).
inline void dequantize_row_q6_K(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK_K, "q6_K");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q6_K>(src, b);
        const float d = fp16_to_fp32(blk.d);
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = blk.ql + 64 * h;
            const uint8_t* qh = blk.qh + 32 * h;
            const int8_t* sc = blk.scales + 8 * h;
            float* y = dst + b * QK_K + 128 * h;
            for (int l = 0; l < 32; ++l) {
                const int q0 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q1 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                const int s = l / 16;  // each 32-element run spans two 16-element sub-blocks
                y[l] = d * static_cast<float>(sc[s + 0]) * static_cast<float>(q0);
                y[l + 32] = d * static_cast<float>(sc[s + 2]) * static_cast<float>(q1);
                y[l + 64] = d * static_cast<float>(sc[s + 4]) * static_cast<float>(q2);
                y[l + 96] = d * static_cast<float>(sc[s + 6]) * static_cast<float>(q3);
            }
        }
    }
}

// Q8_K: element i = d·qs[i] (d is f32; bsums are redundant and ignored).
inline void dequantize_row_q8_K(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK_K, "q8_K");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_q8_K>(src, b);
        for (int i = 0; i < QK_K; ++i) {
            dst[b * QK_K + i] = blk.d * static_cast<float>(blk.qs[i]);
        }
    }
}

// APR_Q4: element 2j = d·(lo(qs[j]) − 8), element 2j+1 = d·(hi(qs[j]) − 8) (pairs, unlike Q4_0's halves).
inline void dequantize_row_apr_q4(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK_APR, "apr_q4");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_apr_q4>(src, b);
        const float d = fp16_to_fp32(blk.d);
        float* y = dst + b * QK_APR;
        for (int j = 0; j < QK_APR / 2; ++j) {
            y[2 * j] = static_cast<float>(static_cast<int>(blk.qs[j] & 0x0F) - 8) * d;
            y[2 * j + 1] = static_cast<float>(static_cast<int>(blk.qs[j] >> 4) - 8) * d;
        }
    }
}

// APR_Q8: element i = d·qs[i] with an f32 d.
inline void dequantize_row_apr_q8(const void* src, float* dst, int64_t n) {
    const int64_t nb = detail::checked_blocks(n, QK_APR, "apr_q8");
    for (int64_t b = 0; b < nb; ++b) {
        const auto blk = detail::load_block<block_apr_q8>(src, b);
        for (int i = 0; i < QK_APR; ++i) dst[b * QK_APR + i] = blk.d * static_cast<float>(blk.qs[i]);
    }
}

// Dequantize n elements (one row or several consecutive rows) of dtype (an aph_dtype id, as read from a tensor)
// from src into dst[n]. Throws std::invalid_argument for an unsupported dtype or n not a whole number of blocks.
inline void dequantize_row(uint32_t dtype, const void* src, float* dst, int64_t n) {
    switch (dtype) {
        case APH_DTYPE_F32: dequantize_row_f32(src, dst, n); return;
        case APH_DTYPE_F16: dequantize_row_f16(src, dst, n); return;
        case APH_DTYPE_BF16: dequantize_row_bf16(src, dst, n); return;
        case APH_DTYPE_Q4_0: dequantize_row_q4_0(src, dst, n); return;
        case APH_DTYPE_Q4_1: dequantize_row_q4_1(src, dst, n); return;
        case APH_DTYPE_Q5_0: dequantize_row_q5_0(src, dst, n); return;
        case APH_DTYPE_Q5_1: dequantize_row_q5_1(src, dst, n); return;
        case APH_DTYPE_Q8_0: dequantize_row_q8_0(src, dst, n); return;
        case APH_DTYPE_Q4_K: dequantize_row_q4_K(src, dst, n); return;
        case APH_DTYPE_Q5_K: dequantize_row_q5_K(src, dst, n); return;
        case APH_DTYPE_Q6_K: dequantize_row_q6_K(src, dst, n); return;
        case APH_DTYPE_Q8_K: dequantize_row_q8_K(src, dst, n); return;
        case APH_DTYPE_APR_Q4: dequantize_row_apr_q4(src, dst, n); return;
        case APH_DTYPE_APR_Q8: dequantize_row_apr_q8(src, dst, n); return;
        default: break;
    }
    throw std::invalid_argument("dequantize: unsupported dtype " + std::to_string(dtype));
}

// Same, taking the enum.
inline void dequantize_row(aph_dtype dtype, const void* src, float* dst, int64_t n) {
    dequantize_row(static_cast<uint32_t>(dtype), src, dst, n);
}

}  // namespace aprhost::ref
