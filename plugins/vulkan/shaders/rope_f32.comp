#version 450
// ROPE, angles in f32 (rope.glsl), for devices without shaderFloat64.
#extension GL_GOOGLE_include_directive : require
#define NO_F64
#include "rope.glsl"
