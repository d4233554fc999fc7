#version 450
// ROPE, angles in double (rope.glsl).
#extension GL_GOOGLE_include_directive : require
#include "rope.glsl"
