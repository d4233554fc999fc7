// Host-side entry points of the quantised-weight kernels (defined in cuda_mul_mat_vec.cu, cuda_mul_mat_gemm.cu,
// cuda_get_rows.cu), called by the dispatch in op_mul_mat.cpp. Plain C++: no CUDA headers. Every function enqueues
// on `stream` only (no sync, no allocation: legal during CUDA-graph capture) and throws std::runtime_error (one
// line) when a launch fails. Pointers are device pointers.
#pragma once

#include <cstddef>
#include <cstdint>

struct CUstream_st;
struct cublasLtContext;

namespace aprhost::cuda::kern {

// Flattened column j of a [ne0, ne1, ne2, ne3] tensor (j = i1 + ne1·(i2 + ne2·i3)) starts at byte
// i1·nb1 + i2·nb2 + i3·nb3 from element 0.
struct Cols {
    int64_t ne1 = 1, ne2 = 1;
    int64_t nb1 = 0, nb2 = 0, nb3 = 0;
};

// Weights: m rows of k elements of `dtype`, row r at w + r·stride bytes.
struct Weights {
    uint32_t dtype = 0;
    const uint8_t* w = nullptr;
    int64_t stride = 0;
    int64_t k = 0, m = 0;
};

// ---- decode (cuda_mul_mat_vec.cu) ------------------------------------------------------------------------------

// Bytes of the q8_1 activations of ncols columns of k (k a multiple of 32): int8 [ncols][k] then float2
// [ncols][k/32], each part 256-byte aligned.
size_t q8_1_workspace_bytes(int64_t k, int64_t ncols);

// True when the fused integer-dot kernel can read these weights (alignment of rows for 128-bit loads).
bool mmv_quant_fast_ok(const Weights& w);
// True when the float-weight kernel can run: k % 8 == 0, weight rows and activation columns 16-byte aligned with a
// uniform column stride (x_ld_bytes).
bool mmv_float_fast_ok(const Weights& w, const void* x, int64_t x_ld_bytes);

// dst[r, c] = Σ_i W[r, i]·x[c, i] (+ bias[r]) for ncols ≤ 8 columns. x: f32 columns by xcols; dst: f32 columns by
// dcols; bias nullable. `workspace` ≥ q8_1_workspace_bytes(k, ncols) for quantised weights, unused otherwise.
void launch_mmv(CUstream_st* stream, const Weights& w, const uint8_t* x, const Cols& xcols, int ncols, const float* bias,
                uint8_t* dst, const Cols& dcols, void* workspace);
// Quantised weights, any ncols (the prefill tile): the same q8_1 activations and per-element integer arithmetic as
// launch_mmv, in 4-row × 8-column warp tiles. Needs mmv_quant_fast_ok and ≥ q8_1_workspace_bytes(k, ncols).
void launch_mmq(CUstream_st* stream, const Weights& w, const uint8_t* x, const Cols& xcols, int64_t ncols,
                const float* bias, uint8_t* dst, const Cols& dcols, void* workspace);
// Any dtype, any alignment ≥ 2 bytes, any ncols: per-element dequantisation + f32 dot (the safety net).
void launch_mmv_generic(CUstream_st* stream, const Weights& w, const uint8_t* x, const Cols& xcols, int64_t ncols,
                        const float* bias, uint8_t* dst, const Cols& dcols);

// ---- dequantised chunks + cuBLASLt (cuda_mul_mat_gemm.cu) ----------------------------------------------------------------------------

struct GemmPlan {
    bool fp32 = false;          // float weights: f32 tiles + FP32 GEMM; quantised: FP16 tiles, FP32 accumulate
    int64_t chunk_rows = 0;     // weight rows dequantised per GEMM call
    size_t x_bytes = 0;         // converted activations [ncols][k]
    size_t w_bytes = 0;         // one dequantised weight chunk [chunk_rows][k]
    size_t lt_bytes = 0;        // cuBLASLt workspace
    size_t total() const { return x_bytes + w_bytes + lt_bytes; }
};
GemmPlan gemm_plan(uint32_t dtype, int64_t k, int64_t m, int64_t ncols);

// dst = W·x (+ bias) for any ncols through dequantised tiles in `workspace` (≥ plan.total()) and cuBLASLt when
// `lt` is non-null and finds an algorithm, else a tiled FP32-accumulating kernel.
void launch_gemm(CUstream_st* stream, cublasLtContext* lt, int device, const GemmPlan& plan, const Weights& w,
                 const uint8_t* x, const Cols& xcols, int64_t ncols, const float* bias, uint8_t* dst, const Cols& dcols,
                 void* workspace);

// dst[:, c] = bias (or 0) for every column: a MUL_MAT with k = 0.
void launch_fill_bias(CUstream_st* stream, int64_t m, int64_t ncols, const float* bias, uint8_t* dst, const Cols& dcols);

// ---- GET_ROWS (cuda_get_rows.cu) -------------------------------------------------------------------------------

// dst row j (f32, at dst + j·dst_stride) = dequantised table row ids[j]; table rows at table + id·table_stride.
// An id outside [0, n_rows) yields a row of NaN (a kernel cannot throw; the host validates ids it knows).
void launch_get_rows(CUstream_st* stream, uint32_t dtype, const uint8_t* table, int64_t table_stride, int64_t n_rows,
                     int64_t row_len, const int32_t* ids, int64_t n, uint8_t* dst, int64_t dst_stride);

}  // namespace aprhost::cuda::kern
