#version 450
// COPY: dst = src converted between f32 / f16 / bf16 (or the same dtype: a bit copy), exactly like the reference
// (integer conversions from fp_bits.glsl). Both sides are seen as 16-bit words; an f32 is two words (little endian).
// SRC_T / DST_T (constant_id 1 / 2): 0 f32, 1 f16, 2 bf16. Offsets and strides are in elements of each side.
// Workgroups: x strides over the row, y (+ z · y-count) = row.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 128) in;
#include "fp_bits.glsl"

layout(constant_id = 1) const uint SRC_T = 0u;
layout(constant_id = 2) const uint DST_T = 0u;

layout(binding = 0, std430) readonly buffer S { uint16_t s16[]; };
layout(binding = 1, std430) writeonly buffer D { uint16_t d16[]; };

layout(push_constant) uniform Push {
    uint ne0, ne1, ne2, rows;
    uint s_off, s_s1, s_s2, s_s3;  // elements of SRC_T
    uint d_off, d_s1, d_s2, d_s3;  // elements of DST_T
} pc;

uint load_bits(uint e) {
    if (SRC_T == FPT_F32) return uint(s16[2u * e]) | (uint(s16[2u * e + 1u]) << 16);
    return uint(s16[e]);
}

void store_bits(uint e, uint v) {
    if (DST_T == FPT_F32) {
        d16[2u * e] = uint16_t(v & 0xFFFFu);
        d16[2u * e + 1u] = uint16_t(v >> 16);
    } else {
        d16[e] = uint16_t(v & 0xFFFFu);
    }
}

void main() {
    const uint r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (r >= pc.rows) return;
    const uint i1 = r % pc.ne1, i2 = (r / pc.ne1) % pc.ne2, i3 = r / (pc.ne1 * pc.ne2);
    const uint sb = pc.s_off + i1 * pc.s_s1 + i2 * pc.s_s2 + i3 * pc.s_s3;
    const uint db = pc.d_off + i1 * pc.d_s1 + i2 * pc.d_s2 + i3 * pc.d_s3;
    for (uint i = gl_GlobalInvocationID.x; i < pc.ne0; i += gl_NumWorkGroups.x * 128u) {
        const uint bits = load_bits(sb + i);
        store_bits(db + i, SRC_T == DST_T ? bits : from_f32_bits(DST_T, to_f32_bits(SRC_T, bits)));
    }
}
