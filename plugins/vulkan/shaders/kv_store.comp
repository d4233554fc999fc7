#version 450
// KV_STORE: token t's row of k or v (f32, row = head_dim · kv_heads elements, read as head h at
// s_off + h·s_s1 + t·s_s2 + c) is written into cache row slots[t], converted to CACHE_T (constant_id 1: 0 f32,
// 1 f16, 2 bf16) exactly like the reference. Slots outside [0, n_slots) are skipped (never an out-of-bounds write).
// Bindings: 0 src (f32 bits), 1 slots (i32), 2 cache (16-bit words; an f32 element is two words).
// Workgroups: x covers the row, y token.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 128) in;
#include "fp_bits.glsl"

layout(constant_id = 1) const uint CACHE_T = 0u;

layout(binding = 0, std430) readonly buffer S { uint ss[]; };
layout(binding = 1, std430) readonly buffer L { int slots[]; };
layout(binding = 2, std430) writeonly buffer C { uint16_t c16[]; };

layout(push_constant) uniform Push {
    uint row, head_len, s_off, s_s1;
    uint s_s2, l_off, c_off, c_row;  // c_off, c_row in elements of CACHE_T
    uint n_slots;
} pc;

void main() {
    const uint e = gl_GlobalInvocationID.x, t = gl_WorkGroupID.y;
    if (e >= pc.row) return;
    const int slot = slots[pc.l_off + t];
    if (slot < 0 || uint(slot) >= pc.n_slots) return;
    const uint h = e / pc.head_len, c = e % pc.head_len;
    const uint x = ss[pc.s_off + h * pc.s_s1 + t * pc.s_s2 + c];
    const uint ce = pc.c_off + uint(slot) * pc.c_row + e;
    if (CACHE_T == FPT_F32) {
        c16[2u * ce] = uint16_t(x & 0xFFFFu);
        c16[2u * ce + 1u] = uint16_t(x >> 16);
    } else {
        c16[ce] = uint16_t(from_f32_bits(CACHE_T, x));
    }
}
