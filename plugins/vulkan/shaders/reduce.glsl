// Workgroup-wide sum and max for a 1-D workgroup of WG invocations (WG a power of two, defined by the includer):
// subgroup arithmetic, or a shared-memory tree when the includer defines NO_SUBGROUP (the *_nosg shader variants,
// for devices without subgroup arithmetic in compute: their SPIR-V declares no subgroup capability).
// Every invocation must call them (they contain barriers) and receives the result.
#ifndef NO_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

shared float red_sh[WG];

float wg_reduce(float v, bool is_max) {
#ifndef NO_SUBGROUP
    const float s = is_max ? subgroupMax(v) : subgroupAdd(v);
    barrier();  // red_sh may still be read by the previous reduction
    if (subgroupElect()) red_sh[gl_SubgroupID] = s;
    barrier();
    float r = red_sh[0];
    for (uint i = 1u; i < gl_NumSubgroups; ++i) r = is_max ? max(r, red_sh[i]) : r + red_sh[i];
    return r;
#else
    const uint t = gl_LocalInvocationID.x;
    barrier();
    red_sh[t] = v;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) red_sh[t] = is_max ? max(red_sh[t], red_sh[t + s]) : red_sh[t] + red_sh[t + s];
        barrier();
    }
    return red_sh[0];
#endif
}

float wg_sum(float v) { return wg_reduce(v, false); }
float wg_max(float v) { return wg_reduce(v, true); }
