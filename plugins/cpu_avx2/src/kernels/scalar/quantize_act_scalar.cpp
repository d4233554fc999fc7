// Portable activation quantization: f32 → ActBlock32 / ActBlockK, block by block (see kernel_table.hpp).
// Rounding is round-to-nearest-even, like the AVX2 version, so both ISAs produce the same blocks.
#include "../kernel_table.hpp"

#include <cmath>
#include <cstdint>

namespace aprhost::cpu::scalar {
#include "../kernel_decls.inc"

namespace {

// Nearest integer of v (ties to even), clamped to the int8 range we use; NaN becomes 0.
inline int quantize_one(float v) {
    if (!(v == v)) return 0;
    float r = std::nearbyint(v);
    if (r > 127.0f) r = 127.0f;
    if (r < -127.0f) r = -127.0f;
    return static_cast<int>(r);
}

// Scale d = max|x| / 127 of a block and its inverse (0 for an all-zero block).
inline void block_scale(const float* x, int n, float& d, float& id) {
    float amax = 0.0f;
    for (int i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    d = amax / 127.0f;
    id = d != 0.0f ? 1.0f / d : 0.0f;
}

}  // namespace

void quantize_act32(const float* x, ActBlock32* y, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        float d, id;
        block_scale(x, 32, d, id);
        int sum = 0;
        for (int i = 0; i < 32; ++i) {
            const int q = quantize_one(x[i] * id);
            y[b].qs[i] = static_cast<int8_t>(q);
            sum += q;
        }
        y[b].d = d;
        y[b].s = d * static_cast<float>(sum);
    }
}

void quantize_actk(const float* x, ActBlockK* y, int64_t n) {
    for (int64_t b = 0; b < n / 256; ++b, x += 256) {
        float d, id;
        block_scale(x, 256, d, id);
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) {
                const int q = quantize_one(x[16 * g + i] * id);
                y[b].qs[16 * g + i] = static_cast<int8_t>(q);
                sum += q;
            }
            y[b].bsums[g] = static_cast<int16_t>(sum);
        }
        y[b].d = d;
    }
}

}  // namespace aprhost::cpu::scalar
