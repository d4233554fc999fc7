// GET_ROWS: dst[:, j] = dequantised row ids[j] of the table, bitwise equal to the SDK reference (see dequant()).
// A table larger than one binding is bound as row windows, one dispatch each: a dispatch writes only the ids that
// fall in its window [row_lo, row_lo + row_count); the dispatch with zero_invalid set also writes zeros for ids
// outside [0, vocab) so that no output is left undefined.
//
// Bindings: 0 table rows of this window, 1 ids (i32), 2 dst (f32).
// Workgroups: y = id index within this dispatch, x = slices of the row (threads stride over its sub-blocks).
#extension GL_GOOGLE_include_directive : require

#include "dequant_common.glsl"

#define WG 64u
layout(local_size_x = 64) in;

layout(binding = 1, std430) readonly buffer Ids { int ids[]; };
layout(binding = 2, std430) writeonly buffer D { float ds[]; };

layout(push_constant) uniform Push {
    uint w_off;     // first unit of table row row_lo (u16 words; floats for F32)
    uint w_stride;  // units between rows
    uint ids_off;   // int index of this dispatch's first id
    uint d_off;     // float index of dst[0, this dispatch's first id]
    uint d_stride;  // floats between dst columns
    uint row_lo;    // first table row of the window
    uint row_count; // rows in the window
    uint k;         // elements per row
    uint vocab;     // rows of the whole table
    uint zero_invalid;
} pc;

void main() {
    const uint j = gl_WorkGroupID.y;
    const int id = ids[pc.ids_off + j];
    const bool valid = id >= 0 && uint(id) < pc.vocab;
    const bool mine = valid && uint(id) >= pc.row_lo && uint(id) - pc.row_lo < pc.row_count;
    if (!mine && !(pc.zero_invalid != 0u && !valid)) return;  // uniform per workgroup

    const uint items = runs_per_row(pc.k);
    const uint dbase = pc.d_off + j * pc.d_stride;
    for (uint it = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x; it < items; it += gl_NumWorkGroups.x * WG) {
        const uint e0 = it * SUBLEN;
        float v[SUBLEN];
        if (mine) {
            dequant_at(pc.w_off + (uint(id) - pc.row_lo) * pc.w_stride, e0, pc.k, v);
        } else {
            [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) v[i] = 0.0;
        }
        [[unroll]] for (uint i = 0u; i < SUBLEN; ++i) {
#if IS_FLOAT
            if (e0 + i >= pc.k) break;
#endif
            ds[dbase + e0 + i] = v[i];
        }
    }
}
