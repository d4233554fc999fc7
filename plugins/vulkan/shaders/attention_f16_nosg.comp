#version 450
// ATTENTION, shared-memory reductions (no subgroup arithmetic), with f16 K/V caches (attention.glsl); 16-bit storage only, widened to f32 on load.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#define KV_T float16_t
#define NO_SUBGROUP
#include "attention.glsl"
