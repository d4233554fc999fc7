// Portable dot kernels for float weights (F32, F16, BF16) against f32 activations (no activation quantization).
// Eight partial sums per column (fixed lane = i mod 8) plus a sequential tail, combined in a fixed order; the
// compiler may map the eight lanes onto SSE registers without changing the arithmetic.
#include "../kernel_table.hpp"
#include "../tile_dispatch.hpp"

#include <aprhost/reference/fp16.hpp>

#include <cstdint>

namespace aprhost::cpu::scalar {
#include "../kernel_decls.inc"

namespace {

// Sum of the 8 lanes in a fixed pairwise order.
inline float sum_lanes8(const float* s) { return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])); }

template <int NC, class Load>
void dot_float_rows(int64_t n, const void* const* act, float* out, Load load) {
    const float* x[NC];
    float acc[NC][8];
    for (int c = 0; c < NC; ++c) {
        x[c] = static_cast<const float*>(act[c]);
        for (int k = 0; k < 8; ++k) acc[c][k] = 0.0f;
    }
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float wv[8];
        for (int k = 0; k < 8; ++k) wv[k] = load(i + k);
        for (int c = 0; c < NC; ++c)
            for (int k = 0; k < 8; ++k) acc[c][k] += wv[k] * x[c][i + k];
    }
    for (int c = 0; c < NC; ++c) {
        float tail = 0.0f;
        for (int64_t j = i; j < n; ++j) tail += load(j) * x[c][j];
        out[c] = sum_lanes8(acc[c]) + tail;
    }
}

}  // namespace

void dot_f32(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    const auto* wf = static_cast<const float*>(w);
    dispatch_tile_cols(nc, [&]<int NC>() { dot_float_rows<NC>(n, act, out, [wf](int64_t i) { return wf[i]; }); });
}

void dot_f16(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    const auto* wh = static_cast<const uint16_t*>(w);
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_float_rows<NC>(n, act, out, [wh](int64_t i) { return aprhost::ref::fp16_to_fp32(wh[i]); });
    });
}

void dot_bf16(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    const auto* wb = static_cast<const uint16_t*>(w);
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_float_rows<NC>(n, act, out, [wb](int64_t i) { return aprhost::ref::bf16_to_fp32(wb[i]); });
    });
}

}  // namespace aprhost::cpu::scalar
