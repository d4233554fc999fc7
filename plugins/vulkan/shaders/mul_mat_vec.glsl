// Matrix × few vectors (decode): dst[r, c] = Σ_k W[r, k]·x[k, c] (+ bias[r]) for NC ≤ 8 columns at once.
// One workgroup computes NR consecutive output rows for all NC columns: its threads stride over the row's runs of
// 8 elements, dequantise each straight into registers (fused with the dot product: the weights are read
// exactly once) and accumulate in f32; the per-thread partial sums are then reduced with subgroupAdd plus a small
// shared-memory step (USE_SUBGROUP) or with a shared-memory tree (the fallback shader for devices without
// subgroup arithmetic).
//
// Bindings: 0 weights (rows of this window), 1 x (f32), 2 dst (f32), 3 bias (f32; any buffer when has_bias = 0).
// Workgroups: x·y cover ceil(rows / NR) row groups (y only when x would exceed the device's limit).
#extension GL_GOOGLE_include_directive : require
#if USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#include "dequant_common.glsl"

layout(constant_id = 0) const uint WG = 64;  // threads per workgroup (a power of two)
layout(constant_id = 1) const uint NR = 2;   // output rows per workgroup (≤ MAX_NR)
layout(constant_id = 2) const uint NC = 1;   // columns (≤ MAX_NC)
layout(local_size_x_id = 0) in;

#define MAX_NR 4
#define MAX_NC 8

layout(binding = 1, std430) readonly buffer X { float xs[]; };
layout(binding = 2, std430) writeonly buffer D { float ds[]; };
layout(binding = 3, std430) readonly buffer B { float bs[]; };

layout(push_constant) uniform Push {
    uint w_off;     // first unit of row 0 (u16 words; floats for F32)
    uint w_stride;  // units between rows
    uint x_off;     // float index of x[0, 0]
    uint x_stride;  // floats between columns of x
    uint d_off;     // float index of dst[row 0 of the window, column 0]
    uint d_stride;  // floats between columns of dst
    uint b_off;     // float index of the window's first bias
    uint rows;      // rows in this window
    uint k;         // elements per row
    uint has_bias;
    uint ncols;     // = NC (the push block is shared with mul_mat_mm.glsl)
} pc;

shared float red[MAX_NR * MAX_NC * WG];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    const uint row0 = group * NR;
    if (row0 >= pc.rows) return;  // whole workgroup: uniform

    float acc[MAX_NR][MAX_NC];
    [[unroll]] for (uint r = 0u; r < MAX_NR; ++r)
        [[unroll]] for (uint c = 0u; c < MAX_NC; ++c) acc[r][c] = 0.0;

    const uint items = runs_per_row(pc.k);
    for (uint it = tid; it < items; it += WG) {
        const uint e0 = it * SUBLEN;
        float v[MAX_NR][SUBLEN];
        [[unroll]] for (uint r = 0u; r < MAX_NR; ++r) {
            if (r < NR) {
                const uint row = min(row0 + r, pc.rows - 1u);  // rows past the end recompute the last (not stored)
                dequant_at(pc.w_off + row * pc.w_stride, e0, pc.k, v[r]);
            }
        }
        [[unroll]] for (uint c = 0u; c < MAX_NC; ++c) {
            if (c < NC) {
                const uint xb = pc.x_off + c * pc.x_stride + e0;
                float xv[SUBLEN];
#if IS_FLOAT
                [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) xv[i] = e0 + i < pc.k ? xs[xb + i] : 0.0;
#else
                [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) xv[i] = xs[xb + i];
#endif
                [[unroll]] for (uint r = 0u; r < MAX_NR; ++r) {
                    if (r < NR) {
                        float sum = 0.0;
                        [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) sum = fma(v[r][i], xv[i], sum);
                        acc[r][c] += sum;
                    }
                }
            }
        }
    }

#if USE_SUBGROUP
    // Reduce inside each subgroup, then across the workgroup's subgroups through shared memory.
    [[unroll]] for (uint r = 0u; r < MAX_NR; ++r)
        [[unroll]] for (uint c = 0u; c < MAX_NC; ++c)
            if (r < NR && c < NC) acc[r][c] = subgroupAdd(acc[r][c]);
    if (subgroupElect()) {
        [[unroll]] for (uint r = 0u; r < MAX_NR; ++r)
            [[unroll]] for (uint c = 0u; c < MAX_NC; ++c)
                if (r < NR && c < NC) red[(r * NC + c) * WG + gl_SubgroupID] = acc[r][c];
    }
    barrier();
    const uint parts = gl_NumSubgroups;
#else
    [[unroll]] for (uint r = 0u; r < MAX_NR; ++r)
        [[unroll]] for (uint c = 0u; c < MAX_NC; ++c)
            if (r < NR && c < NC) red[(r * NC + c) * WG + tid] = acc[r][c];
    barrier();
    for (uint half_n = WG / 2u; half_n > 0u; half_n >>= 1) {
        if (tid < half_n) {
            for (uint rc = 0u; rc < NR * NC; ++rc) red[rc * WG + tid] += red[rc * WG + tid + half_n];
        }
        barrier();
    }
    const uint parts = 1u;
#endif

    // Output rc = (row r, column c) is written by thread rc % WG (NR·NC may exceed WG).
    for (uint rc = tid; rc < NR * NC; rc += WG) {
        const uint r = rc / NC, c = rc % NC;
        if (row0 + r < pc.rows) {
            float sum = 0.0;
            for (uint p = 0u; p < parts; ++p) sum += red[rc * WG + p];
            if (pc.has_bias != 0u) sum += bs[pc.b_off + row0 + r];
            ds[pc.d_off + c * pc.d_stride + row0 + r] = sum;
        }
    }
}
