// K-quants (ggml), super-blocks of 256. Every call returns 8 consecutive elements 8s..8s+7 (s = 0..31).
//   Q4_K 144 bytes: f16 d | f16 dmin | 12 bytes packed 6-bit (scale, min) × 8 | 128 bytes qs.
//        Element 64c + 32p + l (l < 32) is nibble p of qs[32c + l], sub-block j = 2c + p; x = d·sc·q − dmin·m.
//   Q5_K 176 bytes: as Q4_K with qh[32] (bytes 16..47) before qs (bytes 48..175): bit j of qh[l] is the 5th bit.
//   Q6_K 210 bytes: ql[128] | qh[64] | i8 scales[16] | f16 d. Element 128h + 32r + l (l < 32) has low bits =
//        nibble (r >> 1) of ql[64h + 32(r & 1) + l], high bits = bits 2r..2r+1 of qh[32h + l], scale
//        scales[8h + 2r + l/16]; x = d·sc·(q − 32).
#define QK 256u
#define SUBLEN 8
#define IS_FLOAT 0

#if defined(DT_Q4_K) || defined(DT_Q5_K)
#if defined(DT_Q4_K)
#define BLOCK_UNITS 72u
#define QS_WORD 8u
#else
#define BLOCK_UNITS 88u
#define QH_WORD 8u
#define QS_WORD 24u
#endif

// Byte k of the 12 packed scale bytes (they start at byte 4 = word 2).
uint k_scale_byte(uint b, uint k) { return (w_u16(b + 2u + (k >> 1)) >> (8u * (k & 1u))) & 0xFFu; }

void dequant(uint b, uint s, out float v[SUBLEN]) {
    const uint c = s >> 3, p = (s >> 2) & 1u, u = s & 3u;
    const uint j = 2u * c + p;  // sub-block of 32
    uint sc, mn;
    if (j < 4u) {
        sc = k_scale_byte(b, j) & 63u;
        mn = k_scale_byte(b, j + 4u) & 63u;
    } else {
        const uint hi = k_scale_byte(b, j + 4u);
        sc = (hi & 15u) | ((k_scale_byte(b, j - 4u) >> 6) << 4);
        mn = (hi >> 4) | ((k_scale_byte(b, j) >> 6) << 4);
    }
    precise float d0 = w_half(b) * float(sc);
    precise float m0 = w_half(b + 1u) * float(mn);
    const uvec2 q = w_bytes8(b + QS_WORD + 16u * c + 4u * u);
#if defined(DT_Q5_K)
    const uvec2 h = w_bytes8(b + QH_WORD + 4u * u);
#endif
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        uint n = (byte_of(q, i) >> (4u * p)) & 15u;
#if defined(DT_Q5_K)
        n |= ((byte_of(h, i) >> j) & 1u) << 4;
#endif
        precise float x = d0 * float(n) - m0;
        v[i] = x;
    }
}

#elif defined(DT_Q6_K)
#define BLOCK_UNITS 105u

void dequant(uint b, uint s, out float v[SUBLEN]) {
    const uint h = s >> 4, r = (s >> 2) & 3u, u = s & 3u;
    const uint l0 = 8u * u;  // l of the first element
    const uvec2 ql = w_bytes8(b + (64u * h + 32u * (r & 1u) + l0) / 2u);
    const uvec2 qh = w_bytes8(b + 64u + (32u * h + l0) / 2u);
    const uint sci = 8u * h + 2u * r + (u >> 1);
    const int sc = bitfieldExtract(int(w_u16(b + 96u + (sci >> 1))), int(8u * (sci & 1u)), 8);
    precise float dsc = w_half(b + 104u) * float(sc);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        const uint lo = (byte_of(ql, i) >> (4u * (r >> 1))) & 15u;
        const uint hi = (byte_of(qh, i) >> (2u * r)) & 3u;
        precise float x = dsc * float(int(lo | (hi << 4)) - 32);
        v[i] = x;
    }
}
#endif
