// Weight access shared by every quantised-data kernel (mul_mat_vec, mul_mat_mm, get_rows). The weight tensor is
// binding 0, seen through aliases: as 16-bit words (every block, every block field and every row starts on an even
// byte, so all packed fields are read as u16 and split into bytes) and, for F32, as floats. Indices passed to the
// dequantisers are in those units (u16 words, or floats for F32) from the start of the binding.
//
// Each dtype include (selected by a DT_* macro) defines:
//   QK           elements per block (1 for float types)
//   BLOCK_UNITS  block size in storage units (u16 words; floats for F32)
//   SUBLEN       elements one dequant() call returns: 8 (a run of 8 never crosses a block)
//   IS_FLOAT     1 for F32/F16/BF16, whose rows may end inside a run of 8, else 0
//   void dequant(uint b, uint s, out float v[SUBLEN])   (block types)
//                elements s*SUBLEN .. s*SUBLEN+SUBLEN-1 of the block whose first unit is b. Every value is formed
//                exactly as the SDK's reference dequantiser forms it (same operations, same order, no fused
//                multiply-add: `precise`), so GET_ROWS is bitwise equal to the reference.
// The kernels call dequant_at() below, which hides the difference between block and float rows.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : enable

layout(binding = 0, std430) readonly buffer WeightU16 { uint16_t w16[]; };
layout(binding = 0, std430) readonly buffer WeightF32 { float wf32[]; };
layout(binding = 0, std430) readonly buffer WeightU32 { uint w32[]; };

// Word i of the weight binding as a 32-bit uint.
uint w_u16(uint i) { return uint(w16[i]); }
// IEEE half at word i, exactly widened to f32.
float w_half(uint i) { return unpackHalf2x16(w_u16(i)).x; }
// Little-endian u32 from two consecutive words (blocks are only 2-byte aligned).
uint w_u32(uint i) { return w_u16(i) | (w_u16(i + 1u) << 16); }
// The 8 bytes that start at word i as a uvec2 (byte k = byte_of(q, k)). Two 32-bit loads when i is even (the
// usual case: blocks of even word size in a 4-byte aligned tensor), else four 16-bit loads.
uvec2 w_bytes8(uint i) {
    if ((i & 1u) == 0u) return uvec2(w32[i >> 1], w32[(i >> 1) + 1u]);
    return uvec2(w_u32(i), w_u32(i + 2u));
}
uint byte_of(uvec2 q, uint k) { return (q[k >> 2] >> (8u * (k & 3u))) & 0xFFu; }

#if defined(DT_F32) || defined(DT_F16) || defined(DT_BF16)
#include "dequant_float.glsl"
#elif defined(DT_Q4_0) || defined(DT_Q4_1) || defined(DT_APR_Q4)
#include "dequant_q4.glsl"
#elif defined(DT_Q5_0) || defined(DT_Q5_1)
#include "dequant_q5.glsl"
#elif defined(DT_Q8_0) || defined(DT_APR_Q8)
#include "dequant_q8.glsl"
#elif defined(DT_Q4_K) || defined(DT_Q5_K) || defined(DT_Q6_K)
#include "dequant_k.glsl"
#else
#error "define one DT_* weight dtype before including dequant_common.glsl"
#endif

// Elements e0 .. e0+SUBLEN-1 (e0 a multiple of SUBLEN) of the row whose first unit is row; for float rows the
// elements at or past k read as 0 (block rows are whole runs).
void dequant_at(uint row, uint e0, uint k, out float v[SUBLEN]) {
#if IS_FLOAT
#if defined(DT_F16) || defined(DT_BF16)
    // A whole run starting on an even word: four 32-bit loads of two halves each.
    const uint i0 = row + e0;
    if (e0 + SUBLEN <= k && (i0 & 1u) == 0u) {
        [[unroll]] for (uint q = 0u; q < SUBLEN / 2u; ++q) {
            const uint w = w32[(i0 >> 1) + q];
#if defined(DT_F16)
            const vec2 h = unpackHalf2x16(w);
            v[2u * q] = h.x;
            v[2u * q + 1u] = h.y;
#else
            v[2u * q] = uintBitsToFloat(w << 16);
            v[2u * q + 1u] = uintBitsToFloat(w & 0xFFFF0000u);
#endif
        }
        return;
    }
#endif
    [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) v[i] = e0 + i < k ? dequant_one(row + e0 + i) : 0.0;
#else
    dequant(row + (e0 / QK) * BLOCK_UNITS, (e0 % QK) / SUBLEN, v);
#endif
}

// Runs of SUBLEN elements in a row of k elements.
uint runs_per_row(uint k) { return (k + SUBLEN - 1u) / SUBLEN; }
