// Device-side helpers shared by the .cu kernels: warp/block sums and maxima, f16/bf16 loads and rounding stores,
// and the grid sizing of row-wise kernels. Included only by .cu files.
#pragma once

#include "cuda_check.hpp"
#include "cuda_index_math.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <aprhost/abi.h>

#include <cstdint>

namespace aprhost::cuda {

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, ≤ 1024); every thread gets the result. `scratch` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < n_warps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

// Raise an error bit in the context's error word. The word is host-mapped pinned memory, where device atomics are
// not guaranteed (PCIe atomics): a plain read-modify-write suffices, since concurrent raisers can only lose each
// other's bits, never turn a non-zero word back to zero.
__device__ __forceinline__ void raise_device_error(unsigned* word, unsigned bit) {
    volatile unsigned* w = word;
    *w = *w | bit;
}

// Element loads/stores by aph_dtype for the float dtypes (F32, F16, BF16): exact widening, round-to-nearest-even
// narrowing (the reference's quantize_row).
__device__ __forceinline__ float load_float(const char* p, uint32_t dtype) {
    if (dtype == APH_DTYPE_F16) return __half2float(*reinterpret_cast<const __half*>(p));
    if (dtype == APH_DTYPE_BF16) return __bfloat162float(*reinterpret_cast<const __nv_bfloat16*>(p));
    return *reinterpret_cast<const float*>(p);
}
__device__ __forceinline__ void store_float(char* p, uint32_t dtype, float v) {
    if (dtype == APH_DTYPE_F16) *reinterpret_cast<__half*>(p) = __float2half_rn(v);
    else if (dtype == APH_DTYPE_BF16) *reinterpret_cast<__nv_bfloat16*>(p) = __float2bfloat16_rn(v);
    else *reinterpret_cast<float*>(p) = v;
}
__host__ __device__ __forceinline__ int64_t float_dtype_bytes(uint32_t dtype) {
    return dtype == APH_DTYPE_F32 ? 4 : 2;
}

// Grid of a row-wise kernel: x covers one row in chunks of `threads`, y walks the rows (capped at 65535, the
// kernels loop over the rest).
inline dim3 row_grid(int64_t row_len, int64_t rows, int threads) {
    int64_t gx = (row_len + threads - 1) / threads;
    if (gx > 1024) gx = 1024;
    if (gx < 1) gx = 1;
    int64_t gy = rows < 1 ? 1 : (rows > 65535 ? 65535 : rows);
    return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), 1);
}

}  // namespace aprhost::cuda
