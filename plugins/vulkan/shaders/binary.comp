#version 450
// Elementwise f32 ops over strided rows: OP (constant_id 1) 0 = ADD (src1 broadcast through zero strides),
// 1 = SWIGLU silu(a)·b, 2 = GEGLU gelu_tanh(a)·b, 3 = SCALE a·s. dst may alias a.
// Bindings: 0 a, 1 b (bound to a for SCALE), 2 dst; all f32, indices in floats from the binding start.
// Workgroups: x strides over the row, y (+ z · y-count) = row.
layout(local_size_x = 128) in;

layout(constant_id = 1) const uint OP = 0u;

layout(binding = 0, std430) readonly buffer A { float as_[]; };
layout(binding = 1, std430) readonly buffer B { float bs[]; };
layout(binding = 2, std430) writeonly buffer D { float ds[]; };

layout(push_constant) uniform Push {
    uint ne0, ne1, ne2, rows;
    uint a_off, a_s1, a_s2, a_s3;
    uint b_off, b_s1, b_s2, b_s3;
    uint d_off, d_s1, d_s2, d_s3;
    float s;
} pc;

float silu(float g) { return g / (1.0 + exp(-g)); }

float gelu_tanh(float g) {
    // tanh(u) = 1 − 2/(e^{2u} + 1): no inf/inf for large |u| (exp overflow gives exactly ±1).
    const float u = 0.7978845608028654 * (g + 0.044715 * g * g * g);
    const float t = 1.0 - 2.0 / (exp(2.0 * u) + 1.0);
    return 0.5 * g * (1.0 + t);
}

void main() {
    const uint r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
    if (r >= pc.rows) return;
    const uint i1 = r % pc.ne1, i2 = (r / pc.ne1) % pc.ne2, i3 = r / (pc.ne1 * pc.ne2);
    const uint ab = pc.a_off + i1 * pc.a_s1 + i2 * pc.a_s2 + i3 * pc.a_s3;
    const uint bb = pc.b_off + i1 * pc.b_s1 + i2 * pc.b_s2 + i3 * pc.b_s3;
    const uint db = pc.d_off + i1 * pc.d_s1 + i2 * pc.d_s2 + i3 * pc.d_s3;
    for (uint i = gl_GlobalInvocationID.x; i < pc.ne0; i += gl_NumWorkGroups.x * 128u) {
        const float a = as_[ab + i];
        float y;
        if (OP == 0u) y = a + bs[bb + i];
        else if (OP == 1u) y = silu(a) * bs[bb + i];
        else if (OP == 2u) y = gelu_tanh(a) * bs[bb + i];
        else y = a * pc.s;
        ds[db + i] = y;
    }
}
