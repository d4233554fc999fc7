#version 450
// ATTENTION, second pass of the kv split (attention.glsl): for one (query head h, query j) per workgroup, merges
// the n_splits partials (m_s, l_s, acc_s[head_dim]) into out = Σ_s e^(m_s − M)·acc_s / Σ_s e^(m_s − M)·l_s with
// M = max_s m_s. Split 0 always holds at least one entry, so M is finite; empty splits (m = −inf) weigh 0.
// Bindings: 0 partials (f32, from the first pass), 1 dst (f32). Invocations stride over head_dim.
layout(local_size_x = 64) in;

layout(binding = 0, std430) readonly buffer Part { float part[]; };
layout(binding = 1, std430) writeonly buffer D { float ds[]; };

layout(push_constant) uniform Push {
    uint head_dim, n_splits, heads, d_off;
    uint d_s1, d_s2;
} pc;

void main() {
    const uint h = gl_WorkGroupID.x, j = gl_WorkGroupID.y;
    const uint stride = pc.head_dim + 2u;
    const uint pb = (j * pc.heads + h) * pc.n_splits * stride;
    float mx = -1.0 / 0.0;
    for (uint s = 0u; s < pc.n_splits; ++s) mx = max(mx, part[pb + s * stride]);
    float l = 0.0;
    for (uint s = 0u; s < pc.n_splits; ++s) l += exp(part[pb + s * stride] - mx) * part[pb + s * stride + 1u];
    const float inv = 1.0 / l;
    const uint db = pc.d_off + h * pc.d_s1 + j * pc.d_s2;
    for (uint c = gl_LocalInvocationID.x; c < pc.head_dim; c += 64u) {
        float a = 0.0;
        for (uint s = 0u; s < pc.n_splits; ++s) a += exp(part[pb + s * stride] - mx) * part[pb + s * stride + 2u + c];
        ds[db + c] = a * inv;
    }
}
