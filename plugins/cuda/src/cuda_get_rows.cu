// GET_ROWS: dst row j (f32) = table row ids[j] dequantised, for every weight dtype. One thread per group of G
// elements (Traits<dtype>::dequant: 8 for block types, 1 for F32/F16/BF16), grid (groups, ids). The dequantisers
// reproduce the SDK reference bit for bit (the conformance bound is "exact"; tests/cuda_quant checks it on the CPU).
#include "cuda_mul_mat_kernels.hpp"
#include "quant_blocks.cuh"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace aprhost::cuda::kern {

namespace {

template <uint32_t DT>
__global__ void __launch_bounds__(256) get_rows_kernel(const uint8_t* __restrict__ table, int64_t table_stride,
                                                       int64_t n_rows, int64_t row_len,
                                                       const int32_t* __restrict__ ids, int64_t n,
                                                       uint8_t* __restrict__ dst, int64_t dst_stride) {
    using T = qb::Traits<DT>;
    const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= row_len / T::G) return;
    const int64_t j = blockIdx.y + static_cast<int64_t>(blockIdx.z) * 65535;
    if (j >= n) return;
    const int32_t id = ids[j];
    float* out = reinterpret_cast<float*>(dst + j * dst_stride) + g * T::G;
    if (id < 0 || id >= n_rows) {
#pragma unroll
        for (int i = 0; i < T::G; ++i) out[i] = __int_as_float(0x7fc00000);  // a visible failure, not a stray read
        return;
    }
    float y[T::G];
    T::dequant(table + id * table_stride, g, y);
#pragma unroll
    for (int i = 0; i < T::G; ++i) out[i] = y[i];
}

}  // namespace

void launch_get_rows(CUstream_st* stream, uint32_t dtype, const uint8_t* table, int64_t table_stride, int64_t n_rows,
                     int64_t row_len, const int32_t* ids, int64_t n, uint8_t* dst, int64_t dst_stride) {
    if (n <= 0 || row_len <= 0) return;
    const bool known = qb::visit_weight_dtype(dtype, [&](auto tag) {
        constexpr uint32_t DT = decltype(tag)::value;
        const int64_t groups = row_len / qb::Traits<DT>::G;
        const int64_t y = n < 65535 ? n : 65535;
        const dim3 grid(static_cast<unsigned>((groups + 255) / 256), static_cast<unsigned>(y),
                        static_cast<unsigned>((n + 65534) / 65535));
        get_rows_kernel<DT><<<grid, 256, 0, stream>>>(table, table_stride, n_rows, row_len, ids, n, dst, dst_stride);
    });
    if (!known) throw std::runtime_error("CUDA GET_ROWS: no dequantiser for dtype " + std::to_string(dtype));
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        throw std::runtime_error(std::string("CUDA get_rows launch failed: ") + cudaGetErrorName(e) + ": " +
                                 cudaGetErrorString(e));
}

}  // namespace aprhost::cuda::kern
