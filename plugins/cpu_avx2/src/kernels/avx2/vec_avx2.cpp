// AVX2 vector and row kernels: attention dot/axpy, RMS norm, gated activations (vectorised exp), add/scale and the
// f16/bf16 conversions. Reductions use fixed 8-lane accumulators, so a row's result depends only on its length.
#include "../kernel_table.hpp"
#include "avx2_common.hpp"

#include <cmath>

#if defined(__clang__)
// clang's _mm256_cvtps_ph macro expands to a compound literal, which -Wpedantic flags in C++.
#pragma clang diagnostic ignored "-Wc99-extensions"
#endif

namespace aprhost::cpu::avx2 {
#include "../kernel_decls.inc"

namespace {

// e^x for 8 lanes (Cephes-style: 2^n · p(r), r = x − n·ln2, |relative error| ≈ 1e-7); inputs clamped to ±88.37.
static inline __m256 exp_f32x8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f)), _mm256_set1_ps(88.3762626647949f));
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    // 2^n through the exponent field; n ∈ [-127, 128] after the clamp, so split it in two halves to stay finite.
    const __m256i n = _mm256_cvtps_epi32(fx);
    const __m256i n1 = _mm256_srai_epi32(n, 1);
    const __m256i n2 = _mm256_sub_epi32(n, n1);
    const __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    const __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, p1), p2);
}

static inline float silu1(float v) { return v / (1.0f + std::exp(-v)); }
static inline float gelu1(float v) {
    return 0.5f * v * (1.0f + std::tanh(0.79788456080286535588f * v * (1.0f + 0.044715f * v * v)));
}

// Σ a·b with one 8-lane accumulator and a scalar tail. LoadB(i) gives 8 lanes, ScalarB(i) one element.
template <class LoadB, class ScalarB>
static inline float dot8(const float* a, int64_t n, LoadB load_b, ScalarB scalar_b) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_b(i), acc);
    float tail = 0.0f;
    for (; i < n; ++i) tail += a[i] * scalar_b(i);
    return hsum_f32x8(acc) + tail;
}

}  // namespace

float vec_dot_f32(const float* a, const float* b, int64_t n) {
    return dot8(a, n, [b](int64_t i) { return _mm256_loadu_ps(b + i); }, [b](int64_t i) { return b[i]; });
}

float vec_dot_f16(const float* a, const uint16_t* b, int64_t n) {
    return dot8(a, n, [b](int64_t i) { return load_f16x8(b + i); }, [b](int64_t i) { return h2f(b[i]); });
}

void vec_axpy_f32(float a, const float* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += a * x[i];
}

void vec_axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16x8(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += a * h2f(x[i]);
}

float exp_sum(float* x, int64_t n, float max) {
    const __m256 vmax = _mm256_set1_ps(max);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp_f32x8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float tail = 0.0f;
    for (; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        tail += x[i];
    }
    return hsum_f32x8(acc) + tail;
}

void rms_norm_row(const float* x, const float* w, float* y, int64_t n, float eps) {
    const float sumsq = vec_dot_f32(x, x, n);
    const float scale = 1.0f / std::sqrt(sumsq / static_cast<float>(n) + eps);
    const __m256 vs = _mm256_set1_ps(scale);
    int64_t i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(w + i)));
        for (; i < n; ++i) y[i] = (x[i] * scale) * w[i];
    } else {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
        for (; i < n; ++i) y[i] = x[i] * scale;
    }
}

void swiglu_row(const float* x, const float* g, float* y, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 e = exp_f32x8(_mm256_sub_ps(_mm256_setzero_ps(), v));
        const __m256 s = _mm256_div_ps(v, _mm256_add_ps(one, e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(s, _mm256_loadu_ps(g + i)));
    }
    for (; i < n; ++i) y[i] = silu1(x[i]) * g[i];
}

void geglu_row(const float* x, const float* g, float* y, int64_t n) {
    // gelu(v) = 0.5·v·(1 + tanh(u)) = v · (1 − 1/(e^{2u} + 1)), u = √(2/π)·v·(1 + 0.044715·v²).
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 k = _mm256_set1_ps(2.0f * 0.79788456080286535588f);
    const __m256 c = _mm256_set1_ps(0.044715f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 u2 = _mm256_mul_ps(_mm256_mul_ps(k, v), _mm256_fmadd_ps(c, _mm256_mul_ps(v, v), one));
        const __m256 e = exp_f32x8(u2);
        const __m256 r = _mm256_mul_ps(v, _mm256_sub_ps(one, _mm256_div_ps(one, _mm256_add_ps(e, one))));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(r, _mm256_loadu_ps(g + i)));
    }
    for (; i < n; ++i) y[i] = gelu1(x[i]) * g[i];
}

void add_row(const float* a, const float* b, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; ++i) y[i] = a[i] + b[i];
}

void scale_row(const float* x, float s, float* y, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; ++i) y[i] = x[i] * s;
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(x + i));
    for (; i < n; ++i) y[i] = h2f(x[i]);
}

void f32_to_bf16_row(const float* x, uint16_t* y, int64_t n) {
    // Round to nearest even on the dropped 16 bits; NaN keeps its top bits with the quiet bit forced.
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF), quiet = _mm256_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 f = _mm256_loadu_ps(x + i);
        const __m256i u = _mm256_castps_si256(f);
        const __m256i hi = _mm256_srli_epi32(u, 16);
        const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(bias, _mm256_and_si256(hi, one))), 16);
        const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
        const __m256i v = _mm256_blendv_epi8(r, _mm256_or_si256(hi, quiet), nan);
        const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), packed);
    }
    for (; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, x + i, 4);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
            y[i] = static_cast<uint16_t>((u >> 16) | 0x40u);
        } else {
            y[i] = static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
        }
    }
}

void bf16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_bf16x8(x + i));
    for (; i < n; ++i) {
        const uint32_t u = static_cast<uint32_t>(x[i]) << 16;
        std::memcpy(y + i, &u, 4);
    }
}

}  // namespace aprhost::cpu::avx2
