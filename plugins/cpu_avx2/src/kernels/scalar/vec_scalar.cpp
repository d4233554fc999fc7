// Portable vector and row kernels: attention dot/axpy, RMS norm, gated activations, add/scale, float conversions.
#include "../kernel_table.hpp"

#include <aprhost/reference/fp16.hpp>

#include <cmath>
#include <cstdint>

namespace aprhost::cpu::scalar {
#include "../kernel_decls.inc"

namespace {

inline float sum_lanes8(const float* s) { return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])); }

// Σ a[i]·b(i) with 8 fixed lanes and a sequential tail.
template <class LoadB>
inline float dot8(const float* a, int64_t n, LoadB b) {
    float acc[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b(i + k);
    float tail = 0.0f;
    for (; i < n; ++i) tail += a[i] * b(i);
    return sum_lanes8(acc) + tail;
}

}  // namespace

float vec_dot_f32(const float* a, const float* b, int64_t n) {
    return dot8(a, n, [b](int64_t i) { return b[i]; });
}

float vec_dot_f16(const float* a, const uint16_t* b, int64_t n) {
    return dot8(a, n, [b](int64_t i) { return aprhost::ref::fp16_to_fp32(b[i]); });
}

void vec_axpy_f32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void vec_axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * aprhost::ref::fp16_to_fp32(x[i]);
}

float exp_sum(float* x, int64_t n, float max) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    return sum;
}

void rms_norm_row(const float* x, const float* w, float* y, int64_t n, float eps) {
    const float sumsq = dot8(x, n, [x](int64_t i) { return x[i]; });
    const float scale = 1.0f / std::sqrt(sumsq / static_cast<float>(n) + eps);
    if (w) {
        for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
    } else {
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
    }
}

void swiglu_row(const float* x, const float* g, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i])) * g[i];
}

void geglu_row(const float* x, const float* g, float* y, int64_t n) {
    constexpr float kSqrt2OverPi = 0.79788456080286535588f;
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * v * (1.0f + 0.044715f * v * v))) * g[i];
    }
}

void add_row(const float* a, const float* b, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void scale_row(const float* x, float s, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = aprhost::ref::fp32_to_fp16(x[i]);
}

void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = aprhost::ref::fp16_to_fp32(x[i]);
}

void f32_to_bf16_row(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = aprhost::ref::fp32_to_bf16(x[i]);
}

void bf16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = aprhost::ref::bf16_to_fp32(x[i]);
}

}  // namespace aprhost::cpu::scalar
