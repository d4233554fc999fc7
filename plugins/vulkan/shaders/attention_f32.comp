#version 450
// ATTENTION with f32 K/V caches (attention.glsl).
#extension GL_GOOGLE_include_directive : require
#define KV_T float
#include "attention.glsl"
