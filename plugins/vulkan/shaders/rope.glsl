// ROPE over x [head_dim, heads, n] at positions pos[n]: pair i (NORM: (2i, 2i+1); NEOX: (i, i + n_rot/2)) of each
// head turns by angle = pos · theta_i, theta_i = freq_scale · base^(−2i/n_rot) computed in double on the host and
// passed as a (hi, lo) float pair. With fp64 (rope.comp) the angle is formed and reduced modulo 2π in
// double, so sin/cos see an argument in [−π, π] whatever the position; in rope_f32.comp
// (NO_F64: devices without shaderFloat64) in f32 (hi·p + lo·p).
// Dims n_rot .. head_dim − 1 are copied. dst may alias x (each pair is read before it is written).
// Bindings: 0 x (f32), 1 pos (i32), 2 theta (f32 pairs), 3 dst (f32).
// Workgroups: x covers head_dim (invocation t: pair t if t < n_rot/2, copy of dim t if t ≥ n_rot), y head, z token.
layout(local_size_x = 64) in;

layout(binding = 0, std430) readonly buffer X { float xs[]; };
layout(binding = 1, std430) readonly buffer P { int pos[]; };
layout(binding = 2, std430) readonly buffer T { float theta[]; };
layout(binding = 3, std430) buffer D { float ds[]; };

layout(push_constant) uniform Push {
    uint head_dim, n_rot, mode, p_off;
    uint x_off, x_s1, x_s2, t_off;
    uint d_off, d_s1, d_s2;
} pc;

void main() {
    const uint t = gl_GlobalInvocationID.x;
    const uint h = gl_WorkGroupID.y, j = gl_WorkGroupID.z;
    if (t >= pc.head_dim) return;
    const uint xb = pc.x_off + h * pc.x_s1 + j * pc.x_s2;
    const uint db = pc.d_off + h * pc.d_s1 + j * pc.d_s2;
    const uint half_ = pc.n_rot / 2u;
    if (t < half_) {
        float c, s;
        const float hi = theta[pc.t_off + 2u * t], lo = theta[pc.t_off + 2u * t + 1u];
        const int p = pos[pc.p_off + j];
#ifndef NO_F64
        const double two_pi = 6.283185307179586476925286766559LF;
        const double a = double(p) * (double(hi) + double(lo));
        const double r = a - two_pi * round(a / two_pi);
        c = cos(float(r));
        s = sin(float(r));
#else
        const float a = float(p) * hi + float(p) * lo;
        c = cos(a);
        s = sin(a);
#endif
        const uint i0 = pc.mode == 2u ? t : 2u * t;
        const uint i1 = pc.mode == 2u ? t + half_ : 2u * t + 1u;
        const float x0 = xs[xb + i0], x1 = xs[xb + i1];
        ds[db + i0] = x0 * c - x1 * s;
        ds[db + i1] = x0 * s + x1 * c;
    } else if (t >= pc.n_rot) {
        ds[db + t] = xs[xb + t];
    }
}
