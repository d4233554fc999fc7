#version 450
// ATTENTION, shared-memory reductions (no subgroup arithmetic), with f32 K/V caches (attention.glsl).
#extension GL_GOOGLE_include_directive : require
#define KV_T float
#define NO_SUBGROUP
#include "attention.glsl"
