// AVX2 dot kernels for float weights (F32, F16 via F16C, BF16) against f32 activations. Per column two 8-lane FMA
// accumulators over 16 elements per step (hides FMA latency), then one 8-wide step and a scalar tail; the
// combination order is fixed, so the result depends only on n, never on the tile.
#include "../kernel_table.hpp"
#include "../tile_dispatch.hpp"
#include "avx2_common.hpp"

namespace aprhost::cpu::avx2 {
#include "../kernel_decls.inc"

namespace {

// Load(i) → 8 weights starting at element i as f32; Scalar(i) → one weight.
template <int NC, class Load, class Scalar>
static inline void dot_float_rows(int64_t n, const void* const* act, float* out, Load load, Scalar scalar) {
    const float* x[NC];
    __m256 acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) {
        x[c] = static_cast<const float*>(act[c]);
        acc0[c] = _mm256_setzero_ps();
        acc1[c] = _mm256_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = load(i), w1 = load(i + 8);
        for (int c = 0; c < NC; ++c) {
            acc0[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[c] + i), acc0[c]);
            acc1[c] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x[c] + i + 8), acc1[c]);
        }
    }
    if (i + 8 <= n) {
        const __m256 w0 = load(i);
        for (int c = 0; c < NC; ++c) acc0[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[c] + i), acc0[c]);
        i += 8;
    }
    for (int c = 0; c < NC; ++c) {
        float tail = 0.0f;
        for (int64_t j = i; j < n; ++j) tail += scalar(j) * x[c][j];
        out[c] = hsum_f32x8(_mm256_add_ps(acc0[c], acc1[c])) + tail;
    }
}

}  // namespace

void dot_f32(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    const auto* wf = static_cast<const float*>(w);
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_float_rows<NC>(
            n, act, out, [wf](int64_t i) { return _mm256_loadu_ps(wf + i); }, [wf](int64_t i) { return wf[i]; });
    });
}

void dot_f16(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    const auto* wh = static_cast<const uint16_t*>(w);
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_float_rows<NC>(
            n, act, out, [wh](int64_t i) { return load_f16x8(wh + i); }, [wh](int64_t i) { return h2f(wh[i]); });
    });
}

void dot_bf16(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    const auto* wb = static_cast<const uint16_t*>(w);
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_float_rows<NC>(
            n, act, out, [wb](int64_t i) { return load_bf16x8(wb + i); },
            [wb](int64_t i) {
                const uint32_t u = static_cast<uint32_t>(wb[i]) << 16;
                float f;
                std::memcpy(&f, &u, 4);
                return f;
            });
    });
}

}  // namespace aprhost::cpu::avx2
