// The per-step device parameters (n_kv of every ATTENTION node) are written by a tiny kernel whose arguments carry
// the values: kernel arguments are copied at launch, so the host array may change right after the call, there is
// no pinned staging buffer to recycle and no host synchronisation, and the write is ordered on the stream before
// the step's kernels (or the CUDA-graph replay) that read it.
#include "cuda_device_util.cuh"
#include "cuda_ops.hpp"

namespace aprhost::cuda {

namespace {

constexpr int kChunk = 256;  // 1 KiB of arguments per launch, far under the 4 KiB limit of every architecture

struct ParamChunk {
    int32_t values[kChunk];
};

__global__ void write_params_kernel(int32_t* dst, ParamChunk chunk, int count) {
    for (int i = threadIdx.x; i < count; i += blockDim.x) dst[i] = chunk.values[i];
}

}  // namespace

void enqueue_step_params(CUstream_st* stream, int32_t* dst, const int32_t* values, int count) {
    for (int first = 0; first < count; first += kChunk) {
        const int m = count - first < kChunk ? count - first : kChunk;
        ParamChunk chunk{};
        for (int i = 0; i < m; ++i) chunk.values[i] = values[first + i];
        write_params_kernel<<<1, kChunk, 0, stream>>>(dst + first, chunk, m);
        cuda_check_launch("write_params_kernel");
    }
}

}  // namespace aprhost::cuda
