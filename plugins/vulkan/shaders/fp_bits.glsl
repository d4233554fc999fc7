// Exact conversions between binary32 and the 16-bit float formats on raw bits, the same operations as the SDK
// reference (sdk/include/aprhost/reference/fp16.hpp): round-to-nearest-even, overflow to ±inf, subnormals kept,
// NaN stays NaN. Done on integers so no float unit can flush subnormals or canonicalise NaN payloads.

// binary16 bits → binary32 bits.
uint f16_to_f32_bits(uint h) {
    const uint sign = (h & 0x8000u) << 16;
    const uint e = (h >> 10) & 0x1Fu;
    uint man = h & 0x3FFu;
    if (e == 0x1Fu) return sign | 0x7F800000u | (man << 13);
    if (e != 0u) return sign | ((e + 112u) << 23) | (man << 13);
    if (man == 0u) return sign;
    // Subnormal: normalise so the leading 1 becomes the implicit bit.
    const int msb = findMSB(man);  // 0..9
    const uint shift = uint(10 - msb);
    man = (man << shift) & 0x3FFu;
    const uint ex = uint(127 - 15 + 1) - shift;
    return sign | (ex << 23) | (man << 13);
}

// binary32 bits → binary16 bits, round to nearest even.
uint f32_to_f16_bits(uint x) {
    const uint sign = (x >> 16) & 0x8000u;
    const uint ex = (x >> 23) & 0xFFu;
    const uint man = x & 0x7FFFFFu;
    if (ex == 0xFFu) return sign | 0x7C00u | (man != 0u ? (0x200u | (man >> 13)) : 0u);
    const int e = int(ex) - 127 + 15;
    if (e >= 31) return sign | 0x7C00u;
    if (e <= 0) {
        if (e < -10) return sign;
        const uint full = man | 0x800000u;
        const uint shift = uint(14 - e);
        uint m = full >> shift;
        const uint rem = full & ((1u << shift) - 1u);
        const uint half_ = 1u << (shift - 1u);
        if (rem > half_ || (rem == half_ && (m & 1u) != 0u)) ++m;
        return sign | m;
    }
    uint h = sign | (uint(e) << 10) | (man >> 13);
    const uint rem = man & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) ++h;
    return h;
}

// binary32 bits → bfloat16 bits, round to nearest even; NaN stays NaN (quiet bit forced).
uint f32_to_bf16_bits(uint x) {
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return ((x >> 16) | 0x0040u) & 0xFFFFu;
    const uint bias = 0x7FFFu + ((x >> 16) & 1u);
    return ((x + bias) >> 16) & 0xFFFFu;
}

uint bf16_to_f32_bits(uint b) { return b << 16; }

// Storage dtype codes used by the specialization constants of copy / kv_store.
#define FPT_F32 0u
#define FPT_F16 1u
#define FPT_BF16 2u

uint to_f32_bits(uint t, uint bits) {
    return t == FPT_F32 ? bits : (t == FPT_F16 ? f16_to_f32_bits(bits) : bf16_to_f32_bits(bits));
}
uint from_f32_bits(uint t, uint x) {
    return t == FPT_F32 ? x : (t == FPT_F16 ? f32_to_f16_bits(x) : f32_to_bf16_bits(x));
}
