// Scalar reference conversions between IEEE binary32 and the two 16-bit float formats used by model files:
// IEEE binary16 (F16, "half") and bfloat16 (BF16, the upper 16 bits of a binary32).
// Header-only, no state, no allocation. Values travel as raw uint16_t bit patterns so that the ABI's
// dtype bytes map 1:1 onto these functions.
#pragma once

#include <bit>
#include <cstdint>

namespace aprhost::ref {

// Exact IEEE binary16 → binary32 (every half is representable in binary32): zeros, subnormals, normals,
// ±inf and NaN (payload kept, shifted into the top of the binary32 mantissa).
inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);  // inf or NaN
    } else if (exp != 0) {
        bits = sign | ((exp + (127 - 15)) << 23) | (man << 13);  // normal: rebias the exponent
    } else if (man == 0) {
        bits = sign;  // ±0
    } else {
        // Subnormal half (man · 2^-24): shift the mantissa up until its leading 1 becomes the implicit bit;
        // the result is a normal binary32.
        int32_t e = 127 - 15 + 1;
        while ((man & 0x400u) == 0) {
            man <<= 1;
            --e;
        }
        bits = sign | (static_cast<uint32_t>(e) << 23) | ((man & 0x3FFu) << 13);
    }
    return std::bit_cast<float>(bits);
}

// binary32 → binary16 with round-to-nearest-even (the IEEE default, and what F16C's _cvtss_sh(x, 0) does):
// overflow goes to ±inf, tiny values to subnormals or ±0, NaN stays NaN (made quiet so it cannot become inf).
inline uint16_t fp32_to_fp16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t exp = (x >> 23) & 0xFFu;
    const uint32_t man = x & 0x7FFFFFu;
    if (exp == 0xFF) {
        return static_cast<uint16_t>(sign | 0x7C00u | (man != 0 ? (0x200u | (man >> 13)) : 0u));
    }
    const int32_t e = static_cast<int32_t>(exp) - 127 + 15;  // exponent rebiased for half
    if (e >= 31) {
        return static_cast<uint16_t>(sign | 0x7C00u);  // too large even before rounding
    }
    if (e <= 0) {
        // Result is a half subnormal (or zero): value = m · 2^-24 with m = M >> (14 - e), M the 24-bit significand.
        if (e < -10) {
            return static_cast<uint16_t>(sign);  // below half of the smallest subnormal: rounds to ±0
        }
        const uint32_t full = man | 0x800000u;
        const uint32_t shift = static_cast<uint32_t>(14 - e);
        uint32_t m = full >> shift;
        const uint32_t rem = full & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (m & 1u) != 0)) {
            ++m;  // may carry into the smallest normal (0x0400), which is the correct encoding
        }
        return static_cast<uint16_t>(sign | m);
    }
    uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (man >> 13);
    const uint32_t rem = man & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0)) {
        ++h;  // a carry out of the mantissa bumps the exponent; 0x7BFF + 1 = 0x7C00 is +inf, as IEEE requires
    }
    return static_cast<uint16_t>(h);
}

// Exact bfloat16 → binary32: the bf16 bits are the upper half of the binary32.
inline float bf16_to_fp32(uint16_t b) {
    return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

// binary32 → bfloat16 with round-to-nearest-even on the dropped 16 bits; NaN stays NaN (quiet bit forced).
inline uint16_t fp32_to_bf16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
        return static_cast<uint16_t>((x >> 16) | 0x0040u);
    }
    const uint32_t rounding_bias = 0x7FFFu + ((x >> 16) & 1u);
    return static_cast<uint16_t>((x + rounding_bias) >> 16);  // overflow of the largest finite values gives inf
}

// Round a binary32 to the nearest binary16 value and back (what storing a float into an F16 field does).
inline float round_to_fp16(float f) { return fp16_to_fp32(fp32_to_fp16(f)); }

// Round a binary32 to the nearest bfloat16 value and back.
inline float round_to_bf16(float f) { return bf16_to_fp32(fp32_to_bf16(f)); }

}  // namespace aprhost::ref
