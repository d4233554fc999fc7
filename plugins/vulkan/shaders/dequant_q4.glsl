// Q4_0, Q4_1 (ggml) and APR_Q4 (APR-native): blocks of 32 4-bit values.
//   Q4_0   18 bytes: f16 d | 16 bytes qs. qs[j] low nibble = element j, high = element j+16; x = d·(q − 8)
//   Q4_1   20 bytes: f16 d | f16 m | 16 bytes qs (order as Q4_0); x = d·q + m
//   APR_Q4 18 bytes: f16 d | 16 bytes qs. qs[j] low nibble = element 2j, high = 2j+1; x = (q − 8)·d
#define QK 32u
#define SUBLEN 8
#define IS_FLOAT 0
#if defined(DT_Q4_1)
#define BLOCK_UNITS 10u
#define QS_WORD 2u
#else
#define BLOCK_UNITS 9u
#define QS_WORD 1u
#endif

void dequant(uint b, uint s, out float v[SUBLEN]) {
    const float d = w_half(b);
#if defined(DT_APR_Q4)
    // Elements 8s..8s+7 are the two nibbles of bytes 4s..4s+3.
    const uint q = w_u32(b + QS_WORD + 2u * s);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        precise float x = float(int((q >> (4u * i)) & 15u) - 8) * d;
        v[i] = x;
    }
#else
    // Elements 16p + 8u .. +7 (p = nibble, u = half of qs) are nibble p of bytes 8u..8u+7.
    const uint p = s >> 1, u = s & 1u;
    const uvec2 q = w_bytes8(b + QS_WORD + 4u * u);
#if defined(DT_Q4_1)
    const float m = w_half(b + 1u);
#endif
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        const uint n = (byte_of(q, i) >> (4u * p)) & 15u;
#if defined(DT_Q4_1)
        precise float x = d * float(n) + m;
#else
        precise float x = d * float(int(n) - 8);
#endif
        v[i] = x;
    }
#endif
}
