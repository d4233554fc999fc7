#version 450
// RMS_NORM with shared-memory reductions (rms_norm.glsl), for devices without subgroup arithmetic.
#extension GL_GOOGLE_include_directive : require
#define NO_SUBGROUP
#include "rms_norm.glsl"
