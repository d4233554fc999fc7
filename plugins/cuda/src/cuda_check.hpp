// Error checking for every CUDA runtime / cuBLASLt call of the plugin. No call's status is ignored: a failure
// throws CudaError (one line: what was attempted, the error's name, number and text), which the backend turns into
// APH_STATUS_DEVICE (APH_STATUS_OUT_OF_MEMORY for cudaErrorMemoryAllocation) at the ABI. Usable from .cu (C++17)
// and .cpp (C++20) translation units alike.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace aprhost::cuda {

class CudaError : public std::runtime_error {
public:
    CudaError(const std::string& what, cudaError_t code) : std::runtime_error(what), code_(code) {}
    cudaError_t code() const noexcept { return code_; }

private:
    cudaError_t code_;
};

// "cudaErrorNoDevice (100): no CUDA-capable device is detected"
inline std::string cuda_error_text(cudaError_t e) {
    const char* name = cudaGetErrorName(e);
    const char* text = cudaGetErrorString(e);
    return std::string(name ? name : "cudaError?") + " (" + std::to_string(static_cast<int>(e)) + "): " +
           (text ? text : "?");
}

inline void cuda_throw(cudaError_t e, const char* call, const char* where) {
    throw CudaError(std::string(where) + ": " + call + " failed: " + cuda_error_text(e), e);
}

// After a kernel launch: launch-configuration errors (too many threads, too much shared memory) surface here.
// (A sticky error from an earlier kernel also surfaces here, or at the next synchronize.)
inline void cuda_check_launch(const char* kernel) {
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) cuda_throw(e, kernel, "kernel launch");
}

}  // namespace aprhost::cuda

// CUDA_CHECK(cudaMalloc(&p, n)) — throws CudaError naming the call and the enclosing function.
#define APRHOST_CUDA_CHECK(expr)                                                         \
    do {                                                                                 \
        const cudaError_t aprhost_cuda_e_ = (expr);                                      \
        if (aprhost_cuda_e_ != cudaSuccess) ::aprhost::cuda::cuda_throw(aprhost_cuda_e_, #expr, __func__); \
    } while (0)
