// Portable dot kernels for the K-quants (Q4_K, Q5_K, Q6_K) against Q8_K activations. Per super-block: unpack the
// 256 weights to int8 once; per tile column one integer dot per sub-block times its integer scale, and the min /
// offset term from the activation's bsums, then one f32 multiply-add.
#include "../kernel_table.hpp"
#include "../tile_dispatch.hpp"

#include <aprhost/reference/fp16.hpp>
#include <aprhost/reference/quant_blocks.hpp>

#include <cstdint>

namespace aprhost::cpu::scalar {
#include "../kernel_decls.inc"

namespace {

using aprhost::ref::fp16_to_fp32;
using aprhost::ref::QK_K;

// Σ q[i] · a[i] over n elements.
inline int32_t idot(const int8_t* q, const int8_t* a, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; ++i) s += static_cast<int32_t>(q[i]) * static_cast<int32_t>(a[i]);
    return s;
}

// Q4_K / Q5_K share everything but the unpacking of q (0..15 resp. 0..31).
template <int NC, class Block, class Unpack>
void dot_kmin(int64_t n, const void* wv, const void* const* act, float* out, Unpack unpack) {
    const auto* w = static_cast<const Block*>(wv);
    const ActBlockK* a[NC];
    float acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const ActBlockK*>(act[c]);
        acc[c] = 0.0f;
    }
    int8_t q[QK_K];
    uint8_t sc[8], mn[8];
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float dw = fp16_to_fp32(w[b].d);
        const float dmw = fp16_to_fp32(w[b].dmin);
        for (int j = 0; j < 8; ++j) aprhost::ref::get_scale_min_k4(j, w[b].scales, &sc[j], &mn[j]);
        unpack(w[b], q);
        for (int c = 0; c < NC; ++c) {
            const ActBlockK& y = a[c][b];
            int32_t sumi = 0, summ = 0;
            for (int j = 0; j < 8; ++j) {
                sumi += static_cast<int32_t>(sc[j]) * idot(q + 32 * j, y.qs + 32 * j, 32);
                summ += static_cast<int32_t>(mn[j]) * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
            }
            acc[c] += (dw * y.d) * static_cast<float>(sumi) - (dmw * y.d) * static_cast<float>(summ);
        }
    }
    for (int c = 0; c < NC; ++c) out[c] = acc[c];
}

}  // namespace

void dot_q4_K(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q4_K;
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_kmin<NC, B>(n, w, act, out, [](const B& b, int8_t* q) {
            for (int ch = 0; ch < 4; ++ch) {
                for (int l = 0; l < 32; ++l) {
                    q[64 * ch + l] = static_cast<int8_t>(b.qs[32 * ch + l] & 0x0F);
                    q[64 * ch + 32 + l] = static_cast<int8_t>(b.qs[32 * ch + l] >> 4);
                }
            }
        });
    });
}

void dot_q5_K(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q5_K;
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_kmin<NC, B>(n, w, act, out, [](const B& b, int8_t* q) {
            for (int ch = 0; ch < 4; ++ch) {
                for (int l = 0; l < 32; ++l) {
                    const int lo = b.qs[32 * ch + l] & 0x0F, hi = b.qs[32 * ch + l] >> 4;
                    const int h0 = (b.qh[l] >> (2 * ch)) & 1, h1 = (b.qh[l] >> (2 * ch + 1)) & 1;
                    q[64 * ch + l] = static_cast<int8_t>(lo | (h0 << 4));
                    q[64 * ch + 32 + l] = static_cast<int8_t>(hi | (h1 << 4));
                }
            }
        });
    });
}

void dot_q6_K(int64_t n, const void* wv, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q6_K;
    dispatch_tile_cols(nc, [&]<int NC>() {
        const auto* w = static_cast<const B*>(wv);
        const ActBlockK* a[NC];
        float acc[NC];
        for (int c = 0; c < NC; ++c) {
            a[c] = static_cast<const ActBlockK*>(act[c]);
            acc[c] = 0.0f;
        }
        int8_t q[QK_K];  // unsigned 0..63; the −32 offset is applied through bsums
        for (int64_t b = 0; b < n / QK_K; ++b) {
            const B& x = w[b];
            for (int h = 0; h < 2; ++h) {
                const uint8_t* ql = x.ql + 64 * h;
                const uint8_t* qh = x.qh + 32 * h;
                int8_t* qq = q + 128 * h;
                for (int l = 0; l < 32; ++l) {
                    qq[l] = static_cast<int8_t>((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4));
                    qq[l + 32] = static_cast<int8_t>((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4));
                    qq[l + 64] = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                    qq[l + 96] = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
                }
            }
            const float dw = fp16_to_fp32(x.d);
            for (int c = 0; c < NC; ++c) {
                const ActBlockK& y = a[c][b];
                int32_t sumi = 0, sumb = 0;
                for (int g = 0; g < 16; ++g) {
                    sumi += static_cast<int32_t>(x.scales[g]) * idot(q + 16 * g, y.qs + 16 * g, 16);
                    sumb += static_cast<int32_t>(x.scales[g]) * y.bsums[g];
                }
                acc[c] += (dw * y.d) * static_cast<float>(sumi - 32 * sumb);
            }
        }
        for (int c = 0; c < NC; ++c) out[c] = acc[c];
    });
}

}  // namespace aprhost::cpu::scalar
