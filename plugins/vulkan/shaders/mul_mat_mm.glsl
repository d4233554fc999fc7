// Matrix × matrix (batched prefill, N > 8 columns): dst[r, c] = Σ_k W[r, k]·x[k, c] (+ bias[r]).
// One workgroup of 256 threads owns a TM × TN output tile, TM = 64 and TN = 16·NJ (NJ = 1, 2 or 4, a
// specialization constant chosen from the column count so that 9..16 columns do not pay for 64). Per K-step of 32
// elements it dequantises the 64 × 32 weight tile once into shared memory and loads the 32 × TN activation tile
// next to it; every thread then accumulates a 4 × NJ micro-tile in f32, so each dequantised weight is reused by
// all TN columns of the tile. Shared memory: at most (64·32 + 32·64) floats = 16 KiB (the Vulkan minimum;
// lavapipe has 32 KiB).
//
// Bindings: 0 weights (rows of this window), 1 x (f32), 2 dst (f32), 3 bias (f32; any buffer when has_bias = 0).
// Workgroups: x = ceil(rows / TM) row tiles, y = ceil(ncols / TN) column tiles.
#extension GL_GOOGLE_include_directive : require

#include "dequant_common.glsl"

#define TM 64u
#define BK 32u
#define WG 256u
#define SUBS_PER_STEP (BK / SUBLEN)
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint NJ = 4;  // columns per thread (≤ 4)
const uint TN = 16u * NJ;

layout(binding = 1, std430) readonly buffer X { float xs[]; };
layout(binding = 2, std430) writeonly buffer D { float ds[]; };
layout(binding = 3, std430) readonly buffer B { float bs[]; };

layout(push_constant) uniform Push {
    uint w_off;     // first unit of row 0 (u16 words; floats for F32)
    uint w_stride;  // units between rows
    uint x_off;     // float index of x[0, column 0]
    uint x_stride;  // floats between columns of x
    uint d_off;     // float index of dst[row 0 of the window, column 0]
    uint d_stride;  // floats between columns of dst
    uint b_off;     // float index of the window's first bias
    uint rows;      // rows in this window
    uint k;         // elements per row
    uint has_bias;
    uint ncols;     // columns in this dispatch
} pc;

shared float w_tile[BK * TM];  // [k][row]
shared float x_tile[BK * 16u * NJ];  // [k][column]

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint tx = tid % 16u, ty = tid / 16u;
    const uint row0 = gl_WorkGroupID.x * TM, col0 = gl_WorkGroupID.y * TN;

    float acc[4][4];  // [row][column]; columns j ≥ NJ stay unused
    [[unroll]] for (uint i = 0u; i < 4u; ++i)
        [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.k; k0 += BK) {
        // Weight tile: TM rows × SUBS_PER_STEP sub-blocks; rows past the window and elements past k are zero.
        for (uint idx = tid; idx < TM * SUBS_PER_STEP; idx += WG) {
            const uint r = idx / SUBS_PER_STEP, sub = idx % SUBS_PER_STEP;
            const uint kk = k0 + sub * SUBLEN;
            float v[SUBLEN];
            if (row0 + r < pc.rows && kk < pc.k) {
                dequant_at(pc.w_off + (row0 + r) * pc.w_stride, kk, pc.k, v);
            } else {
                [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) v[i] = 0.0;
            }
            [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) w_tile[(sub * SUBLEN + i) * TM + r] = v[i];
        }
        // Activation tile: consecutive threads read consecutive k of one column.
        for (uint idx = tid; idx < BK * TN; idx += WG) {
            const uint kk = idx % BK, c = idx / BK;
            float xv = 0.0;
            if (col0 + c < pc.ncols && k0 + kk < pc.k) xv = xs[pc.x_off + (col0 + c) * pc.x_stride + k0 + kk];
            x_tile[kk * TN + c] = xv;
        }
        barrier();
        for (uint kk = 0u; kk < BK; ++kk) {
            float a[4], b[4];
            [[unroll]] for (uint i = 0u; i < 4u; ++i) a[i] = w_tile[kk * TM + ty + 16u * i];
            [[unroll]] for (uint j = 0u; j < 4u; ++j) b[j] = j < NJ ? x_tile[kk * TN + tx + 16u * j] : 0.0;
            [[unroll]] for (uint i = 0u; i < 4u; ++i)
                [[unroll]] for (uint j = 0u; j < 4u; ++j)
                    if (j < NJ) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }

    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        const uint r = row0 + ty + 16u * i;
        if (r >= pc.rows) continue;
        const float bias = pc.has_bias != 0u ? bs[pc.b_off + r] : 0.0;
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            const uint c = col0 + tx + 16u * j;
            if (j < NJ && c < pc.ncols) ds[pc.d_off + c * pc.d_stride + r] = acc[i][j] + bias;
        }
    }
}
