// See cuda_buffer.hpp.
#include "cuda_buffer.hpp"

#include "cuda_check.hpp"
#include "cuda_kernel_api.hpp"
#include "cuda_ops.hpp"

#include <aprhost/plugin.hpp>
#include <aprhost/graph_rules.hpp>

#include <cuda_runtime_api.h>

namespace aprhost::cuda {

void* device_pointer(const aph_tensor& t) {
    const CudaBuffer* b = as_cuda_buffer(t.buffer);
    return b == nullptr || b->ptr == nullptr ? nullptr : static_cast<char*>(b->ptr) + t.offset;
}

View make_view(const aph_graph& g, int32_t index) {
    const aph_tensor& t = g.tensors[index];
    View v;
    v.base = static_cast<char*>(device_pointer(t));
    for (int i = 0; i < 4; ++i) {
        v.ne[i] = t.ne[i];
        v.nb[i] = t.nb[i];
    }
    return v;
}

int64_t tensor_row_bytes(const aph_tensor& t) { return static_cast<int64_t>(sdk::tensor_row_bytes(t)); }

BufferTable::~BufferTable() {
    for (CudaBuffer* b : live_) {
        if (b->ptr) (void)cudaFree(b->ptr);
        delete b;
    }
}

CudaBuffer* BufferTable::allocate(uint64_t size) {
    auto* b = new CudaBuffer{nullptr, size};
    if (size > 0) {
        const cudaError_t e = cudaMalloc(&b->ptr, size);
        if (e != cudaSuccess) {
            delete b;
            (void)cudaGetLastError();  // cudaErrorMemoryAllocation is not sticky; clear it
            size_t free_b = 0, total_b = 0;
            const bool have_info = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
            const std::string info = have_info ? " (device has " + std::to_string(free_b >> 20) + " MiB free of " +
                                                     std::to_string(total_b >> 20) + " MiB)"
                                               : "";
            throw sdk::Error(e == cudaErrorMemoryAllocation ? APH_STATUS_OUT_OF_MEMORY : APH_STATUS_DEVICE,
                             "cudaMalloc of " + std::to_string(size) + " bytes failed: " + cuda_error_text(e) + info);
        }
    }
    live_.insert(b);
    bytes_ += size;
    return b;
}

void BufferTable::release(CudaBuffer* b) {
    if (live_.erase(b) == 0) return;
    bytes_ -= b->size;
    const cudaError_t e = b->ptr ? cudaFree(b->ptr) : cudaSuccess;
    delete b;
    if (e != cudaSuccess) throw CudaError("cudaFree failed: " + cuda_error_text(e), e);
}

CudaBuffer* BufferTable::checked(aph_buffer_t handle, const char* what) const {
    CudaBuffer* b = as_cuda_buffer(handle);
    if (!handle || live_.count(b) == 0)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT,
                         std::string(what) + ": buffer handle is not a live buffer of this cuda context");
    return b;
}

}  // namespace aprhost::cuda
