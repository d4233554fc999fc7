// RMS_NORM: dst row = x row / sqrt(mean(x²) + eps) · w (w optional). One workgroup per row; the sum of squares is
// accumulated in f32 per invocation (strided) and reduced across the workgroup.
// Bindings: 0 x (f32), 1 w (f32; bound to x when absent), 2 dst (f32). Indices in floats from the binding start.
#extension GL_GOOGLE_include_directive : require
#define WG 128u
layout(local_size_x = 128) in;
#include "reduce.glsl"

layout(binding = 0, std430) readonly buffer X { float xs[]; };
layout(binding = 1, std430) readonly buffer W { float ws[]; };
layout(binding = 2, std430) writeonly buffer D { float ds[]; };

layout(push_constant) uniform Push {
    uint ne0, ne1, ne2, rows;
    uint x_off, x_s1, x_s2, x_s3;
    uint d_off, d_s1, d_s2, d_s3;
    uint w_off, has_w;
    float eps;
} pc;

void main() {
    const uint r = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (r >= pc.rows) return;  // uniform per workgroup
    const uint i1 = r % pc.ne1, i2 = (r / pc.ne1) % pc.ne2, i3 = r / (pc.ne1 * pc.ne2);
    const uint xb = pc.x_off + i1 * pc.x_s1 + i2 * pc.x_s2 + i3 * pc.x_s3;
    const uint db = pc.d_off + i1 * pc.d_s1 + i2 * pc.d_s2 + i3 * pc.d_s3;
    float acc = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < pc.ne0; i += WG) {
        const float v = xs[xb + i];
        acc += v * v;
    }
    const float sum = wg_sum(acc);
    const float inv = 1.0 / sqrt(sum / float(pc.ne0) + pc.eps);
    for (uint i = gl_LocalInvocationID.x; i < pc.ne0; i += WG) {
        const float w = pc.has_w != 0u ? ws[pc.w_off + i] : 1.0;
        ds[db + i] = xs[xb + i] * inv * w;
    }
}
