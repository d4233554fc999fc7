// Q5_0 and Q5_1 (ggml): blocks of 32 5-bit values; the 5th bit of element e is bit e of the little-endian u32 qh.
//   Q5_0 22 bytes: f16 d | qh[4] | 16 bytes qs (nibble order as Q4_0); x = d·(q − 16)
//   Q5_1 24 bytes: f16 d | f16 m | qh[4] | 16 bytes qs; x = d·q + m
#define QK 32u
#define SUBLEN 8
#define IS_FLOAT 0
#if defined(DT_Q5_1)
#define BLOCK_UNITS 12u
#define QH_WORD 2u
#else
#define BLOCK_UNITS 11u
#define QH_WORD 1u
#endif
#define QS_WORD (QH_WORD + 2u)

void dequant(uint b, uint s, out float v[SUBLEN]) {
    const float d = w_half(b);
#if defined(DT_Q5_1)
    const float m = w_half(b + 1u);
#endif
    const uint p = s >> 1, u = s & 1u;  // elements 16p + 8u .. +7: nibble p of qs bytes 8u..8u+7
    const uint qh = w_u32(b + QH_WORD) >> (8u * s);
    const uvec2 q = w_bytes8(b + QS_WORD + 4u * u);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        const uint n = ((byte_of(q, i) >> (4u * p)) & 15u) | (((qh >> i) & 1u) << 4);
#if defined(DT_Q5_1)
        precise float x = d * float(n) + m;
#else
        precise float x = d * float(int(n) - 16);
#endif
        v[i] = x;
    }
}
