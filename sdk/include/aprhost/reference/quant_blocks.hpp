// The packed block structs of ggml's public quantization formats, byte-for-byte as they appear in GGUF files
// (the layouts of ggml-common.h, listed in the project's FORMATS.md). One struct per type; sizes are pinned below.
//
// Element ordering inside each block (the part that is easy to get wrong):
//   Q4_0 / Q4_1   qs[j] low nibble = element j, high nibble = element j + 16 (j = 0..15).
//   Q5_0 / Q5_1   as Q4_x for the low 4 bits; the 5th bit of element i is bit i of the little-endian u32 in qh.
//   Q8_0          qs[i] = element i.
//   Q4_K          8 sub-blocks of 32 with 6-bit (scale, min) pairs packed in scales[12] (see get_scale_min_k4).
//                 The 256 elements are 4 chunks of 64; chunk c uses qs[32c .. 32c+31]: the low nibbles are
//                 elements 64c + l (sub-block 2c), the high nibbles elements 64c + 32 + l (sub-block 2c+1).
//   Q5_K          as Q4_K for the low 4 bits; the 5th bit of element 64c + l is bit 2c of qh[l], of element
//                 64c + 32 + l bit 2c+1 of qh[l] (l = 0..31).
//   Q6_K          16 sub-blocks of 16 with int8 scales. Two halves of 128; half h uses ql[64h ..], qh[32h ..],
//                 scales[8h ..]. For l = 0..31 in half h (base = 128h):
//                   element base+l     : low nibble of ql[l],    bits 0-1 of qh[l]
//                   element base+l+32  : low nibble of ql[l+32], bits 2-3 of qh[l]
//                   element base+l+64  : high nibble of ql[l],   bits 4-5 of qh[l]
//                   element base+l+96  : high nibble of ql[l+32],bits 6-7 of qh[l]
//                 q = (low | high << 4) − 32; element e uses scales[8h + (e − base) / 16].
//   Q8_K          qs[i] = element i; bsums[g] = sum of qs[16g .. 16g+15] (integer-dot kernels use it for mins).
// All multi-byte fields are little-endian; f16 fields are stored as raw uint16_t bits (see fp16.hpp).
#pragma once

#include <aprhost/abi.h>

#include <cstddef>
#include <cstdint>

namespace aprhost::ref {

inline constexpr int QK4_0 = 32;
inline constexpr int QK4_1 = 32;
inline constexpr int QK5_0 = 32;
inline constexpr int QK5_1 = 32;
inline constexpr int QK8_0 = 32;
inline constexpr int QK_K = 256;        // super-block size of the K-quants
inline constexpr int K_SCALE_SIZE = 12;  // bytes of packed 6-bit scales/mins in Q4_K and Q5_K

// x = d · (q − 8), q in 0..15
struct block_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
};

// x = d · q + m, q in 0..15
struct block_q4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[QK4_1 / 2];
};

// x = d · (q − 16), q in 0..31
struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];  // 5th bits, bit i = element i (little-endian u32)
    uint8_t qs[QK5_0 / 2];
};

// x = d · q + m, q in 0..31
struct block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
};

// x = d · q, q in −128..127
struct block_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
};

// x = d · sc · q − dmin · m for the element's sub-block (sc, m 6-bit), q in 0..15
struct block_q4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
};

// x = d · sc · q − dmin · m, q in 0..31
struct block_q5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};

// x = d · scales[sub] · (q − 32), q in 0..63
struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
};

// x = d · q (d is a full f32); the activation format of integer-dot CPU kernels
struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
};

// APR-native 4-bit (aph dtype 128): x = (nibble − 8)·d; byte j: element 2j low nibble, element 2j+1 high nibble.
constexpr int QK_APR = 32;
struct block_apr_q4 {
    uint16_t d;
    uint8_t qs[QK_APR / 2];
};

// APR-native 8-bit (aph dtype 129) as the ABI sees it: x = d·qs[i] (d repeated per block by the APR loader).
struct block_apr_q8 {
    float d;
    int8_t qs[QK_APR];
};

static_assert(sizeof(block_apr_q4) == 18, "block_apr_q4 layout");
static_assert(sizeof(block_apr_q8) == 36, "block_apr_q8 layout");
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must match ggml");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 must match ggml");
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 must match ggml");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 must match ggml");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must match ggml");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K must match ggml");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K must match ggml");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K must match ggml");
static_assert(sizeof(block_q8_K) == 292, "block_q8_K must match ggml");
static_assert(offsetof(block_q6_K, d) == 208, "Q6_K keeps d at the end");
static_assert(offsetof(block_q5_K, qh) == 16 && offsetof(block_q5_K, qs) == 48, "Q5_K field order");

// Sub-block j (0..7) of a Q4_K/Q5_K block: its 6-bit scale and min from the 12 packed bytes.
// Bytes 0-3: scales 0-3 in the low 6 bits; bytes 4-7: mins 0-3 in the low 6 bits; bytes 8-11: the low 4 bits of
// scale 4+i (low nibble) and min 4+i (high nibble), whose top 2 bits sit in the spare top bits of bytes i and 4+i.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
    if (j < 4) {
        *scale = static_cast<uint8_t>(q[j] & 63);
        *min = static_cast<uint8_t>(q[j + 4] & 63);
    } else {
        *scale = static_cast<uint8_t>((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
        *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Inverse of get_scale_min_k4: pack eight 6-bit scales and mins (each < 64) into 12 bytes.
inline void pack_scale_min_k4(const uint8_t scale[8], const uint8_t min[8], uint8_t* q) {
    for (int j = 0; j < 4; ++j) {
        q[j] = static_cast<uint8_t>((scale[j] & 63) | ((scale[j + 4] >> 4) << 6));
        q[j + 4] = static_cast<uint8_t>((min[j] & 63) | ((min[j + 4] >> 4) << 6));
        q[j + 8] = static_cast<uint8_t>((scale[j + 4] & 0x0F) | ((min[j + 4] & 0x0F) << 4));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Block facts (also what aprhost/graph_rules.hpp builds on: keep this part free of exceptions)
// ---------------------------------------------------------------------------------------------------------------

// True for the dtypes this header can dequantize: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K,
// Q8_K, and the APR-native APR_Q4 / APR_Q8.
inline bool dtype_supported(uint32_t dtype) {
    switch (dtype) {
        case APH_DTYPE_F32: case APH_DTYPE_F16: case APH_DTYPE_BF16:
        case APH_DTYPE_Q4_0: case APH_DTYPE_Q4_1: case APH_DTYPE_Q5_0: case APH_DTYPE_Q5_1: case APH_DTYPE_Q8_0:
        case APH_DTYPE_Q4_K: case APH_DTYPE_Q5_K: case APH_DTYPE_Q6_K: case APH_DTYPE_Q8_K:
        case APH_DTYPE_APR_Q4: case APH_DTYPE_APR_Q8:
            return true;
        default:
            return false;
    }
}

// Elements per block (1 for plain float types); 0 for a dtype dtype_supported() rejects.
inline size_t block_elems(uint32_t dtype) {
    switch (dtype) {
        case APH_DTYPE_F32: case APH_DTYPE_F16: case APH_DTYPE_BF16: return 1;
        case APH_DTYPE_Q4_0: case APH_DTYPE_Q4_1: case APH_DTYPE_Q5_0: case APH_DTYPE_Q5_1: case APH_DTYPE_Q8_0:
        case APH_DTYPE_APR_Q4: case APH_DTYPE_APR_Q8:
            return 32;
        case APH_DTYPE_Q4_K: case APH_DTYPE_Q5_K: case APH_DTYPE_Q6_K: case APH_DTYPE_Q8_K: return QK_K;
        default: return 0;
    }
}

// Bytes per block; 0 for a dtype dtype_supported() rejects.
inline size_t block_bytes(uint32_t dtype) {
    switch (dtype) {
        case APH_DTYPE_F32: return 4;
        case APH_DTYPE_F16: case APH_DTYPE_BF16: return 2;
        case APH_DTYPE_Q4_0: return sizeof(block_q4_0);
        case APH_DTYPE_Q4_1: return sizeof(block_q4_1);
        case APH_DTYPE_Q5_0: return sizeof(block_q5_0);
        case APH_DTYPE_Q5_1: return sizeof(block_q5_1);
        case APH_DTYPE_Q8_0: return sizeof(block_q8_0);
        case APH_DTYPE_Q4_K: return sizeof(block_q4_K);
        case APH_DTYPE_Q5_K: return sizeof(block_q5_K);
        case APH_DTYPE_Q6_K: return sizeof(block_q6_K);
        case APH_DTYPE_Q8_K: return sizeof(block_q8_K);
        case APH_DTYPE_APR_Q4: return sizeof(block_apr_q4);
        case APH_DTYPE_APR_Q8: return sizeof(block_apr_q8);
        default: return 0;
    }
}

// Bytes of a row of n elements; 0 if the dtype is unsupported, n < 0, or n is not a multiple of the block size.
inline size_t row_bytes(uint32_t dtype, int64_t n) {
    const size_t be = block_elems(dtype);
    if (be == 0 || n < 0 || static_cast<size_t>(n) % be != 0) {
        return 0;
    }
    return static_cast<size_t>(n) / be * block_bytes(dtype);
}

}  // namespace aprhost::ref
