// Q8_0 (ggml) and APR_Q8 (APR-native as the ABI sees it): blocks of 32 int8 values.
//   Q8_0   34 bytes: f16 d | 32 × i8; x = d·q
//   APR_Q8 36 bytes: f32 d | 32 × i8; x = d·q
#define QK 32u
#define SUBLEN 8
#define IS_FLOAT 0
#if defined(DT_APR_Q8)
#define BLOCK_UNITS 18u
#define QS_WORD 2u
#else
#define BLOCK_UNITS 17u
#define QS_WORD 1u
#endif

void dequant(uint b, uint s, out float v[SUBLEN]) {
#if defined(DT_APR_Q8)
    const float d = uintBitsToFloat(w_u32(b));
#else
    const float d = w_half(b);
#endif
    const uvec2 q = w_bytes8(b + QS_WORD + 4u * s);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        // bitfieldExtract on an int sign-extends: the byte as int8.
        const int n = bitfieldExtract(int(q[i >> 2]), int(8u * (i & 3u)), 8);
        precise float x = d * float(n);
        v[i] = x;
    }
}
