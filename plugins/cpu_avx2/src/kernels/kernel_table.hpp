// The CPU backend's kernel dispatch table: one instance per ISA (scalar, avx2), chosen once when a backend context is
// created and never per call. Op drivers (ops_*.cpp, ISA-neutral) only reach kernels through this table, so every
// translation unit is compiled for exactly one ISA.
//
// Also defines the 8-bit activation block formats the integer-dot matmul kernels consume. Activations are quantized
// once per MUL_MAT, one column at a time, block by block: a column's blocks depend only on that column's values, which
// is what keeps a column's result independent of the batch it is computed in.
#pragma once

#include <aprhost/reference/quant_blocks.hpp>

#include <cstdint>

namespace aprhost::cpu {

// Activation block for the 32-element weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): x ≈ d · qs[i];
// s = d · Σ qs[i] (lets kernels fold the weight offset / min term into one multiply per block).
struct ActBlock32 {
    float d;
    float s;
    int8_t qs[32];
};
static_assert(sizeof(ActBlock32) == 40, "ActBlock32 layout");

// Activation block for the K-quants: ggml's Q8_K layout (d, 256 × i8, bsums of each group of 16).
using ActBlockK = aprhost::ref::block_q8_K;

// Which activation format a weight dtype's dot kernel reads.
enum class ActKind { F32, Q8_32, Q8_K };

// out[c] = Σ_i w[i] · act[c][i] for the nc (1..4) columns in act (nc ≤ kMaxTileCols).
// n is the row length in elements (a whole number of weight blocks). act[c] points to the column's f32 values
// (ActKind::F32) or to its first activation block. Contract: out[c] is bit-identical for every nc and for every
// position c of that column in the tile — each column has its own accumulators updated in the same order.
using DotFn = void (*)(int64_t n, const void* w, const void* const* act, int nc, float* out);
inline constexpr int kMaxTileCols = 4;

// Row-range form of a DotFn (optional, per dtype; null: the driver calls the DotFn once per row): for the nrows
// weight rows w, w + wstride, ... and the nc (1..kMaxTileCols) columns in act,
// dst[c][r] = Σ_i w_r[i]·act[c][i] (+ bias[r] when bias is non-null). Contract: bit-identical to the DotFn of the
// same dtype for every row, nc and tile position. Exists because decode rows are short (576..896 elements): one
// call per row range hoists the per-row call, dispatch and setup out of the driver's loop.
using RowsFn = void (*)(int64_t n, const uint8_t* w, int64_t wstride, int64_t nrows, const void* const* act, int nc,
                        float* const* dst, const float* bias);

struct KernelTable {
    const char* isa;  // "avx2+fma+f16c" or "scalar"

    // --- activation quantization (n = elements, a multiple of 32 resp. 256) ---
    void (*quantize_act32)(const float* x, ActBlock32* y, int64_t n);
    void (*quantize_actk)(const float* x, ActBlockK* y, int64_t n);

    // --- matmul row kernels per weight dtype ---
    DotFn dot_f32, dot_f16, dot_bf16;
    DotFn dot_q4_0, dot_q4_1, dot_q5_0, dot_q5_1, dot_q8_0;
    DotFn dot_q4_K, dot_q5_K, dot_q6_K;
    // Row-range variants (null where an ISA has none).
    RowsFn rows_q4_0 = nullptr, rows_q4_1 = nullptr, rows_q5_0 = nullptr, rows_q5_1 = nullptr, rows_q8_0 = nullptr;

    // --- vector kernels used by attention ---
    float (*vec_dot_f32)(const float* a, const float* b, int64_t n);
    float (*vec_dot_f16)(const float* a, const uint16_t* b, int64_t n);
    void (*vec_axpy_f32)(float a, const float* x, float* y, int64_t n);     // y += a · x
    void (*vec_axpy_f16)(float a, const uint16_t* x, float* y, int64_t n);  // y += a · x
    float (*exp_sum)(float* x, int64_t n, float max);  // x[i] = e^(x[i] − max) in place; returns Σ x[i]
    // Attention of the nq query heads sharing one kv head, over its cache rows row_i = base + off[i] (hd elements,
    // f32 or f16), i < n. Rows are walked in L1-sized blocks, each block serving all nq heads.
    //   attn_scores:       s[h·n + i] = scale · Σ_d q[h][d]·row_i[d]
    //   attn_weighted_sum: out[h·hd + d] = Σ_i p[h·n + i]·row_i[d], summed in order of i (out overwritten)
    // A head's result depends only on (its inputs, n, hd), not on nq.
    void (*attn_scores)(const float* const* q, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n,
                        int64_t hd, bool f16, float scale, float* s);
    void (*attn_weighted_sum)(const float* p, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n,
                              int64_t hd, bool f16, float* out);

    // --- row kernels of the elementwise ops (y may alias x) ---
    void (*rms_norm_row)(const float* x, const float* w, float* y, int64_t n, float eps);  // w may be null
    void (*swiglu_row)(const float* x, const float* g, float* y, int64_t n);
    void (*geglu_row)(const float* x, const float* g, float* y, int64_t n);
    void (*add_row)(const float* a, const float* b, float* y, int64_t n);
    void (*scale_row)(const float* x, float s, float* y, int64_t n);
    void (*f32_to_f16_row)(const float* x, uint16_t* y, int64_t n);
    void (*f16_to_f32_row)(const uint16_t* x, float* y, int64_t n);
    void (*f32_to_bf16_row)(const float* x, uint16_t* y, int64_t n);
    void (*bf16_to_f32_row)(const uint16_t* x, float* y, int64_t n);
};

// The portable table (always available).
const KernelTable& kernels_scalar();
// The AVX2+FMA+F16C table; only linked into the avx2 variant. Call only after checking the CPU supports it.
const KernelTable& kernels_avx2();

// The dot kernel for a weight dtype and the activation format it reads; fn == nullptr: not a matmul weight dtype.
struct DotKernel {
    DotFn fn = nullptr;
    ActKind act = ActKind::F32;
    RowsFn rows = nullptr;  // optional row-range form of fn
};
DotKernel dot_kernel_for(const KernelTable& t, uint32_t dtype);

}  // namespace aprhost::cpu
