// F32 / F16 / BF16 weights: elements are their own "blocks"; all three widen to f32 exactly. Rows of any length
// (not a multiple of 8): dequant_at() masks the elements past the end.
#define QK 1u
#define SUBLEN 8
#define BLOCK_UNITS 1u
#define IS_FLOAT 1

// Element at unit i (floats for F32, 16-bit words otherwise).
float dequant_one(uint i) {
#if defined(DT_F32)
    return wf32[i];
#elif defined(DT_F16)
    return w_half(i);
#else  // BF16: the upper 16 bits of an f32
    return uintBitsToFloat(w_u16(i) << 16);
#endif
}
