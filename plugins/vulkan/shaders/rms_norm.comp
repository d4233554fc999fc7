#version 450
// RMS_NORM with subgroup reductions (rms_norm.glsl).
#extension GL_GOOGLE_include_directive : require
#include "rms_norm.glsl"
