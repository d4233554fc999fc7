// Portable dot kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against ActBlock32
// activations: unpack a weight block to int8 once, then one integer dot per tile column and block, scaled by
// d_w · d_a and accumulated in f32 block by block.
#include "../kernel_table.hpp"
#include "../tile_dispatch.hpp"

#include <aprhost/reference/fp16.hpp>

#include <cstdint>
#include <cstring>

namespace aprhost::cpu::scalar {
#include "../kernel_decls.inc"

namespace {

using aprhost::ref::fp16_to_fp32;

// Σ q[i] · a[i] over one block of 32.
inline int32_t idot32(const int8_t* q, const int8_t* a) {
    int32_t s = 0;
    for (int i = 0; i < 32; ++i) s += static_cast<int32_t>(q[i]) * static_cast<int32_t>(a[i]);
    return s;
}

// Low nibbles are elements 0..15, high nibbles 16..31; `offset` is subtracted from every value.
inline void unpack_nibbles(const uint8_t* qs, int offset, int8_t* q) {
    for (int j = 0; j < 16; ++j) {
        q[j] = static_cast<int8_t>((qs[j] & 0x0F) - offset);
        q[j + 16] = static_cast<int8_t>((qs[j] >> 4) - offset);
    }
}

// Adds the 5th bits of qh (bit i → element i) as value 16.
inline void add_high_bits(const uint8_t* qh, int8_t* q) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    for (int i = 0; i < 32; ++i) q[i] = static_cast<int8_t>(q[i] + static_cast<int8_t>(((bits >> i) & 1u) << 4));
}

// Shared loop: Unpack(block, q) fills q[32] (weights as int8, any offset already applied), MinOf(block) gives the
// additive term m (0 for the symmetric types). acc += d_w·d_a·Σq·a + m·s_a per block.
template <int NC, class Block, class Unpack, class MinOf>
void dot_blocks32(int64_t n, const void* wv, const void* const* act, float* out, Unpack unpack, MinOf min_of) {
    const auto* w = static_cast<const Block*>(wv);
    const ActBlock32* a[NC];
    float acc[NC];
    for (int c = 0; c < NC; ++c) {
        a[c] = static_cast<const ActBlock32*>(act[c]);
        acc[c] = 0.0f;
    }
    int8_t q[32];
    for (int64_t b = 0; b < n / 32; ++b) {
        const float dw = fp16_to_fp32(w[b].d);
        const float mw = min_of(w[b]);
        unpack(w[b], q);
        for (int c = 0; c < NC; ++c) {
            const ActBlock32& y = a[c][b];
            acc[c] += (dw * y.d) * static_cast<float>(idot32(q, y.qs)) + mw * y.s;
        }
    }
    for (int c = 0; c < NC; ++c) out[c] = acc[c];
}

template <class Block>
float no_min(const Block&) {
    return 0.0f;
}
template <class Block>
float min_field(const Block& b) {
    return fp16_to_fp32(b.m);
}

}  // namespace

void dot_q4_0(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q4_0;
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_blocks32<NC, B>(n, w, act, out, [](const B& b, int8_t* q) { unpack_nibbles(b.qs, 8, q); }, no_min<B>);
    });
}

void dot_q4_1(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q4_1;
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_blocks32<NC, B>(n, w, act, out, [](const B& b, int8_t* q) { unpack_nibbles(b.qs, 0, q); },
                            min_field<B>);
    });
}

void dot_q5_0(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q5_0;
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_blocks32<NC, B>(
            n, w, act, out,
            [](const B& b, int8_t* q) {
                unpack_nibbles(b.qs, 0, q);
                add_high_bits(b.qh, q);
                for (int i = 0; i < 32; ++i) q[i] = static_cast<int8_t>(q[i] - 16);
            },
            no_min<B>);
    });
}

void dot_q5_1(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q5_1;
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_blocks32<NC, B>(
            n, w, act, out,
            [](const B& b, int8_t* q) {
                unpack_nibbles(b.qs, 0, q);
                add_high_bits(b.qh, q);
            },
            min_field<B>);
    });
}

void dot_q8_0(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    using B = aprhost::ref::block_q8_0;
    dispatch_tile_cols(nc, [&]<int NC>() {
        dot_blocks32<NC, B>(n, w, act, out, [](const B& b, int8_t* q) { std::memcpy(q, b.qs, 32); }, no_min<B>);
    });
}

}  // namespace aprhost::cpu::scalar
