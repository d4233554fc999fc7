// MUL_MAT with fused dequantise + dot kernels.
//   decode (N = 1..8 activation columns), one warp per output row:
//     quantised weights: a prologue kernel quantises the activations into q8_1 blocks (int8 + per-32 (d, d·Σq)) in
//       the workspace; the lanes split each weight block (VecDot<dtype>::TPB lanes per block, 32/TPB consecutive
//       blocks per warp step, so a warp reads one contiguous run of weight bytes) and dot with dp4a;
//     float weights: 128-bit loads of 8 f16/bf16 (or 2×4 f32) weights, f32 activations, FP32 FMA;
//     anything else (unaligned rows, odd k): a generic kernel dequantising 8 elements at a time.
//   prefill tile (N > 8, quantised weights): the same q8_1 activations and per-element arithmetic, one warp per
//     4 rows × 8 columns, so batched and decode results agree to FP32 rounding.
// Weight bytes are read once for all columns of a warp (NC accumulators per lane); reductions are shuffle trees.
// The per-lane arithmetic is quant_dot.cuh, which the host test (tests/cuda_quant) runs on the CPU.
#include "cuda_mul_mat_kernels.hpp"
#include "quant_dot.cuh"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace aprhost::cuda::kern {

namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kTileRows = 4, kTileCols = 8;  // the prefill tile of one warp

__device__ __forceinline__ int64_t col_offset(const Cols& c, int64_t j) {
    const int64_t i1 = j % c.ne1;
    const int64_t r = j / c.ne1;
    return i1 * c.nb1 + (r % c.ne2) * c.nb2 + (r / c.ne2) * c.nb3;
}

__device__ __forceinline__ float warp_reduce_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ int warp_reduce_sum_int(int v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_reduce_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Lane c (< ncols) stores acc[c] (+ bias) into column c, row `row`.
template <int NC>
__device__ __forceinline__ void store_columns(const float* acc, int ncols, int64_t row, const float* bias, uint8_t* dst,
                                              const Cols& dcols) {
    const int lane = threadIdx.x & 31;
    float v = 0.0f;
#pragma unroll
    for (int c = 0; c < NC; ++c)
        if (lane == c) v = acc[c];
    if (lane < ncols && lane < NC) {
        if (bias != nullptr) v += bias[row];
        reinterpret_cast<float*>(dst + col_offset(dcols, lane))[row] = v;
    }
}

// One warp per 32-element activation block: amax, d, q, Σq by shuffles (quant_dot.cuh's per-element functions).
__global__ void __launch_bounds__(256) quantize_q8_1_kernel(const uint8_t* __restrict__ x, Cols xcols, int64_t k,
                                                            int64_t n_blocks, int8_t* __restrict__ xq,
                                                            qb::f32x2* __restrict__ xds) {
    const int64_t b = static_cast<int64_t>(blockIdx.x) * 8 + (threadIdx.x >> 5);
    if (b >= n_blocks) return;
    const int lane = threadIdx.x & 31;
    const int64_t kb = k / 32;
    const int64_t col = b / kb, jb = b % kb;
    const float v = reinterpret_cast<const float*>(x + col_offset(xcols, col))[32 * jb + lane];
    const float amax = warp_reduce_max(fabsf(v));
    const float d = qb::q8_1_scale(amax);
    const int q = qb::q8_1_quant(v, qb::q8_1_inverse(d));
    const int sum = warp_reduce_sum_int(q);
    xq[col * k + 32 * jb + lane] = static_cast<int8_t>(q);
    if (lane == 0) xds[col * kb + jb] = {d, qb::q8_1_sum_scaled(d, sum)};
}

template <uint32_t DT, int NC>
__global__ void __launch_bounds__(32 * kWarpsPerBlock) mmv_quant_kernel(const uint8_t* __restrict__ w, int64_t stride,
                                                                        int64_t k, int64_t m,
                                                                        const int8_t* __restrict__ xq,
                                                                        const qb::f32x2* __restrict__ xds, int ncols,
                                                                        const float* __restrict__ bias, uint8_t* dst,
                                                                        Cols dcols) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (row >= m) return;
    float acc[NC];
    qb::lane_partial<DT, NC>(w + row * stride, k / qb::Traits<DT>::QK, xq, xds, k, ncols,
                             static_cast<int>(threadIdx.x & 31), acc);
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = warp_reduce_sum(acc[c]);
    store_columns<NC>(acc, ncols, row, bias, dst, dcols);
}

// Σ over the warp of 32 per-lane values at once: lane l ends with Σ_lanes v[l]. Each butterfly step halves the
// values a lane holds (it keeps one half, sends the other), 31 shuffles instead of 32 × 5.
template <int N>
__device__ __forceinline__ void transpose_sum_step(float* v, bool upper) {
#pragma unroll
    for (int i = 0; i < N; ++i) {
        const float send = upper ? v[i] : v[i + N];
        const float keep = upper ? v[i + N] : v[i];
        v[i] = keep + __shfl_xor_sync(0xffffffffu, send, N);
    }
}

// (Steps as template arguments: every index is a compile-time constant, so v stays in registers.)
__device__ __forceinline__ float warp_transpose_sum(float* v) {
    const int lane = threadIdx.x & 31;
    transpose_sum_step<16>(v, (lane & 16) != 0);
    transpose_sum_step<8>(v, (lane & 8) != 0);
    transpose_sum_step<4>(v, (lane & 4) != 0);
    transpose_sum_step<2>(v, (lane & 2) != 0);
    transpose_sum_step<1>(v, (lane & 1) != 0);
    return v[0];
}

// Prefill tile (N > 8 columns, quantised weights): each warp computes kTileRows rows × kTileCols columns with the
// decode kernel's per-element arithmetic (lane_tile), reusing each weight share for 8 columns and each activation
// share for 4 rows. blockIdx.x = column group (fastest, so the CTAs running together share weight rows in L2),
// blockIdx.y = group of kWarpsPerBlock · kTileRows rows. After the transposed reduction lane r·8 + c owns (r, c).
template <uint32_t DT>
__global__ void __launch_bounds__(32 * kWarpsPerBlock) mmq_tile_kernel(const uint8_t* __restrict__ w, int64_t stride,
                                                                       int64_t k, int64_t m,
                                                                       const int8_t* __restrict__ xq,
                                                                       const qb::f32x2* __restrict__ xds, int64_t ncols,
                                                                       const float* __restrict__ bias, uint8_t* dst,
                                                                       Cols dcols) {
    static_assert(kTileRows * kTileCols == 32, "one output per lane");
    const int64_t c0 = static_cast<int64_t>(blockIdx.x) * kTileCols;
    const int64_t row0 = (static_cast<int64_t>(blockIdx.y) * kWarpsPerBlock + (threadIdx.x >> 5)) * kTileRows;
    if (row0 >= m) return;
    const int lane = static_cast<int>(threadIdx.x & 31);
    const int nrows = static_cast<int>(m - row0 < kTileRows ? m - row0 : kTileRows);
    const int nc = static_cast<int>(ncols - c0 < kTileCols ? ncols - c0 : kTileCols);
    float acc[kTileRows * kTileCols];
    qb::lane_tile<DT, kTileRows, kTileCols>(w + row0 * stride, stride, nrows, k / qb::Traits<DT>::QK, xq + c0 * k,
                                            xds + c0 * (k / 32), k, nc, lane, acc);
    float v = warp_transpose_sum(acc);
    const int r = lane / kTileCols, c = lane % kTileCols;
    if (r < nrows && c < nc) {
        if (bias != nullptr) v += bias[row0 + r];
        reinterpret_cast<float*>(dst + col_offset(dcols, c0 + c))[row0 + r] = v;
    }
}

template <uint32_t DT, int NC>
__global__ void __launch_bounds__(32 * kWarpsPerBlock) mmv_float_kernel(const uint8_t* __restrict__ w, int64_t stride,
                                                                        int64_t k, int64_t m,
                                                                        const float* __restrict__ x, int64_t ldx,
                                                                        int ncols, const float* __restrict__ bias,
                                                                        uint8_t* dst, Cols dcols) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (row >= m) return;
    float acc[NC];
    qb::lane_partial_float<DT, NC>(w + row * stride, k, x, ldx, ncols, static_cast<int>(threadIdx.x & 31), acc);
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = warp_reduce_sum(acc[c]);
    store_columns<NC>(acc, ncols, row, bias, dst, dcols);
}

// The safety net: one warp per (row, column), G elements per lane step through Traits<DT>::dequant.
template <uint32_t DT>
__global__ void __launch_bounds__(32 * kWarpsPerBlock) mmv_generic_kernel(const uint8_t* __restrict__ w, int64_t stride,
                                                                          int64_t k, int64_t m,
                                                                          const uint8_t* __restrict__ x, Cols xcols,
                                                                          const float* __restrict__ bias, uint8_t* dst,
                                                                          Cols dcols) {
    using T = qb::Traits<DT>;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    const int64_t col = blockIdx.y;
    if (row >= m) return;
    const int lane = threadIdx.x & 31;
    const uint8_t* wr = w + row * stride;
    const float* xc = reinterpret_cast<const float*>(x + col_offset(xcols, col));
    float acc = 0.0f;
    for (int64_t g = lane; g < k / T::G; g += 32) {
        float y[T::G];
        T::dequant(wr, g, y);
#pragma unroll
        for (int i = 0; i < T::G; ++i) acc = fmaf(y[i], xc[g * T::G + i], acc);
    }
    acc = warp_reduce_sum(acc);
    if (lane == 0) {
        if (bias != nullptr) acc += bias[row];
        reinterpret_cast<float*>(dst + col_offset(dcols, col))[row] = acc;
    }
}

void check_launch(const char* what) {
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        throw std::runtime_error(std::string("CUDA ") + what + " launch failed: " + cudaGetErrorName(e) + ": " +
                                 cudaGetErrorString(e));
}

size_t align256(size_t v) { return (v + 255) & ~static_cast<size_t>(255); }

bool aligned(const void* p, uintptr_t a) { return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0; }

unsigned row_blocks(int64_t m) { return static_cast<unsigned>((m + kWarpsPerBlock - 1) / kWarpsPerBlock); }

}  // namespace

size_t q8_1_workspace_bytes(int64_t k, int64_t ncols) {
    return align256(static_cast<size_t>(k * ncols)) + align256(static_cast<size_t>(k / 32 * ncols) * sizeof(qb::f32x2));
}

bool mmv_quant_fast_ok(const Weights& w) {
    if (w.dtype == APH_DTYPE_Q4_K || w.dtype == APH_DTYPE_Q5_K) return aligned(w.w, 16) && w.stride % 16 == 0;
    return aligned(w.w, 2) && w.stride % 2 == 0;
}

bool mmv_float_fast_ok(const Weights& w, const void* x, int64_t x_ld_bytes) {
    return w.k % 8 == 0 && aligned(w.w, 16) && w.stride % 16 == 0 && aligned(x, 16) && x_ld_bytes % 16 == 0;
}

void launch_mmv(CUstream_st* stream, const Weights& w, const uint8_t* x, const Cols& xcols, int ncols, const float* bias,
                uint8_t* dst, const Cols& dcols, void* workspace) {
    if (ncols < 1 || ncols > 8) throw std::runtime_error("CUDA MUL_MAT: the GEMV takes 1..8 columns");
    const dim3 grid(row_blocks(w.m));
    const dim3 block(32 * kWarpsPerBlock);
    bool launched = false;
    qb::visit_weight_dtype(w.dtype, [&](auto tag) {
        constexpr uint32_t DT = decltype(tag)::value;
        if constexpr (qb::Traits<DT>::QK == 1) {
            const float* xf = reinterpret_cast<const float*>(x);
            const int64_t ldx = xcols.nb1 / 4;
            if (ncols == 1)
                mmv_float_kernel<DT, 1><<<grid, block, 0, stream>>>(w.w, w.stride, w.k, w.m, xf, ldx, 1, bias, dst, dcols);
            else
                mmv_float_kernel<DT, 8><<<grid, block, 0, stream>>>(w.w, w.stride, w.k, w.m, xf, ldx, ncols, bias, dst,
                                                                      dcols);
            check_launch("mul_mat_vec_float");
        } else {
            auto* xq = static_cast<int8_t*>(workspace);
            auto* xds = reinterpret_cast<qb::f32x2*>(static_cast<uint8_t*>(workspace) +
                                                     align256(static_cast<size_t>(w.k * ncols)));
            const int64_t n_blocks = w.k / 32 * ncols;
            quantize_q8_1_kernel<<<static_cast<unsigned>((n_blocks + 7) / 8), 256, 0, stream>>>(x, xcols, w.k, n_blocks,
                                                                                                 xq, xds);
            check_launch("quantize_q8_1");
            if (ncols == 1)
                mmv_quant_kernel<DT, 1><<<grid, block, 0, stream>>>(w.w, w.stride, w.k, w.m, xq, xds, 1, bias, dst, dcols);
            else
                mmv_quant_kernel<DT, 8><<<grid, block, 0, stream>>>(w.w, w.stride, w.k, w.m, xq, xds, ncols, bias, dst,
                                                                      dcols);
            check_launch("mul_mat_vec_q");
        }
        launched = true;
    });
    if (!launched) throw std::runtime_error("CUDA MUL_MAT: no GEMV kernel for dtype " + std::to_string(w.dtype));
}

void launch_mmq(CUstream_st* stream, const Weights& w, const uint8_t* x, const Cols& xcols, int64_t ncols,
                const float* bias, uint8_t* dst, const Cols& dcols, void* workspace) {
    if (ncols <= 0 || w.m <= 0) return;
    const int64_t row_groups = (w.m + kWarpsPerBlock * kTileRows - 1) / (kWarpsPerBlock * kTileRows);
    const int64_t col_groups = (ncols + kTileCols - 1) / kTileCols;
    if (row_groups > 65535 || col_groups > 0x7fffffff)
        throw std::runtime_error("CUDA MUL_MAT: " + std::to_string(w.m) + " rows x " + std::to_string(ncols) +
                                 " columns exceed the prefill tile grid");
    auto* xq = static_cast<int8_t*>(workspace);
    auto* xds = reinterpret_cast<qb::f32x2*>(static_cast<uint8_t*>(workspace) + align256(static_cast<size_t>(w.k * ncols)));
    const int64_t n_blocks = w.k / 32 * ncols;
    quantize_q8_1_kernel<<<static_cast<unsigned>((n_blocks + 7) / 8), 256, 0, stream>>>(x, xcols, w.k, n_blocks, xq, xds);
    check_launch("quantize_q8_1");
    const dim3 grid(static_cast<unsigned>(col_groups), static_cast<unsigned>(row_groups));
    const bool known = qb::visit_weight_dtype(w.dtype, [&](auto tag) {
        constexpr uint32_t DT = decltype(tag)::value;
        if constexpr (qb::Traits<DT>::QK > 1) {
            mmq_tile_kernel<DT><<<grid, 32 * kWarpsPerBlock, 0, stream>>>(w.w, w.stride, w.k, w.m, xq, xds, ncols, bias,
                                                                          dst, dcols);
            check_launch("mul_mat_q_tile");
        } else {
            throw std::runtime_error("CUDA MUL_MAT: the integer prefill tile takes quantised weights only");
        }
    });
    if (!known) throw std::runtime_error("CUDA MUL_MAT: no prefill tile kernel for dtype " + std::to_string(w.dtype));
}

void launch_mmv_generic(CUstream_st* stream, const Weights& w, const uint8_t* x, const Cols& xcols, int64_t ncols,
                        const float* bias, uint8_t* dst, const Cols& dcols) {
    if (ncols <= 0) return;
    if (ncols > 65535) throw std::runtime_error("CUDA MUL_MAT: the generic GEMV takes at most 65535 columns");
    const dim3 grid(row_blocks(w.m), static_cast<unsigned>(ncols));
    const bool known = qb::visit_weight_dtype(w.dtype, [&](auto tag) {
        constexpr uint32_t DT = decltype(tag)::value;
        mmv_generic_kernel<DT><<<grid, 32 * kWarpsPerBlock, 0, stream>>>(w.w, w.stride, w.k, w.m, x, xcols, bias, dst,
                                                                         dcols);
        check_launch("mul_mat_vec_generic");
    });
    if (!known) throw std::runtime_error("CUDA MUL_MAT: no generic kernel for dtype " + std::to_string(w.dtype));
}

}  // namespace aprhost::cuda::kern
