// ATTENTION (causal GQA over a block table) for one (query head, query) per workgroup, single pass with an online
// softmax over tiles of WG kv entries:
//   - every invocation scores one kv entry of the tile (q·k over head_dim, f32), scaled;
//   - the tile max and the sum of exp(s − running max) are workgroup reductions (subgroup arithmetic when the
//     device has it, shared memory otherwise: reduce.glsl);
//   - every invocation owns head_dim/WG output dims and accumulates Σ p_i·v_i over the tile, rescaling by
//     exp(old max − new max) when the max grows.
// Split over the kv range (flash-decoding, for few queries over a long context): workgroup z = s handles entries
// [s·kv_per_split, (s+1)·kv_per_split) of the visible ones and, when n_splits > 1, writes its partial (max, sum,
// unnormalised output) to binding 5 at ((j·heads + h)·n_splits + s)·(head_dim + 2); attention_combine.comp merges
// them. With n_splits == 1 the workgroup writes the normalised output directly (binding 5 unused).
// Query j (of n_q) sees kv entries 0 .. n_kv − n_q + j; entry i lives in slot table[i / bs]·bs + i % bs. Slots are
// clamped into the cache, so a bad table can never read outside the binding. Nothing past the visible entries is
// read (the conformance cases fill unused slots with NaN).
// The includer defines KV_T (float or float16_t) and the storage of K and V.
// Bindings: 0 q (f32), 1 K cache, 2 V cache, 3 block table (i32), 4 dst (f32).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : enable
#define WG 64u
#define MAX_DIMS_PER_INV 4u  // head_dim ≤ 256
layout(local_size_x = 64) in;
#include "reduce.glsl"

layout(binding = 0, std430) readonly buffer Q { float qs[]; };
layout(binding = 1, std430) readonly buffer K { KV_T ks[]; };
layout(binding = 2, std430) readonly buffer V { KV_T vs[]; };
layout(binding = 3, std430) readonly buffer Tb { int table[]; };
layout(binding = 4, std430) writeonly buffer D { float ds[]; };
layout(binding = 5, std430) writeonly buffer Part { float part[]; };

layout(push_constant) uniform Push {
    uint head_dim, group, n_q, n_kv;
    uint block_size, t_off, n_slots, q_off;
    uint q_s1, q_s2, d_off, d_s1;
    uint d_s2, k_off, k_row, v_off;
    uint v_row, kv_per_split, n_splits, heads;
    float scale;
} pc;

shared float q_sh[256];
shared float p_sh[WG];
shared uint slot_sh[WG];

void main() {
    const uint h = gl_WorkGroupID.x, j = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
    const uint kvh = h / pc.group;
    const uint len_all = pc.n_kv - pc.n_q + j + 1u;
    const uint split = gl_WorkGroupID.z;
    const uint first = split * pc.kv_per_split;
    const uint len = min(len_all, first + pc.kv_per_split);  // this workgroup: entries first .. len - 1
    const uint qb = pc.q_off + h * pc.q_s1 + j * pc.q_s2;
    for (uint c = tid; c < pc.head_dim; c += WG) q_sh[c] = qs[qb + c];
    barrier();

    const uint kb = pc.k_off + kvh * pc.head_dim, vb = pc.v_off + kvh * pc.head_dim;
    float acc[MAX_DIMS_PER_INV];
    [[unroll]] for (uint m = 0u; m < MAX_DIMS_PER_INV; ++m) acc[m] = 0.0;
    float m_run = -1.0 / 0.0, l_run = 0.0;

    for (uint i0 = first; i0 < len; i0 += WG) {
        const uint i = i0 + tid;
        float s = -1.0 / 0.0;
        uint slot = 0u;
        if (i < len) {
            const uint blk = uint(table[pc.t_off + i / pc.block_size]);
            slot = min(blk * pc.block_size + i % pc.block_size, pc.n_slots - 1u);
            const uint kr = kb + slot * pc.k_row;
            float dot_ = 0.0;
            for (uint c = 0u; c < pc.head_dim; ++c) dot_ += q_sh[c] * float(ks[kr + c]);
            s = dot_ * pc.scale;
        }
        const float m_new = max(m_run, wg_max(s));
        const float alpha = exp(m_run - m_new);
        const float p = i < len ? exp(s - m_new) : 0.0;
        p_sh[tid] = p;
        slot_sh[tid] = slot;
        l_run = l_run * alpha + wg_sum(p);  // wg_sum's barriers also publish p_sh / slot_sh
        const uint tile = min(WG, len - i0);
        [[unroll]] for (uint m = 0u; m < MAX_DIMS_PER_INV; ++m) {
            const uint c = tid + m * WG;
            if (c < pc.head_dim) {
                float a = acc[m] * alpha;
                for (uint t = 0u; t < tile; ++t) a += p_sh[t] * float(vs[vb + slot_sh[t] * pc.v_row + c]);
                acc[m] = a;
            }
        }
        m_run = m_new;
        barrier();  // p_sh / slot_sh are rewritten by the next tile
    }
    if (pc.n_splits > 1u) {
        // An empty range (a causal query shorter than this split's start) leaves m = -inf, l = 0, acc = 0.
        const uint pb = ((j * pc.heads + h) * pc.n_splits + split) * (pc.head_dim + 2u);
        if (tid == 0u) {
            part[pb] = m_run;
            part[pb + 1u] = l_run;
        }
        [[unroll]] for (uint m = 0u; m < MAX_DIMS_PER_INV; ++m) {
            const uint c = tid + m * WG;
            if (c < pc.head_dim) part[pb + 2u + c] = acc[m];
        }
        return;
    }
    const uint db = pc.d_off + h * pc.d_s1 + j * pc.d_s2;
    const float inv = 1.0 / l_run;
    [[unroll]] for (uint m = 0u; m < MAX_DIMS_PER_INV; ++m) {
        const uint c = tid + m * WG;
        if (c < pc.head_dim) ds[db + c] = acc[m] * inv;
    }
}
