// One CUDA device as a backend context uses it: the device (cudaSetDevice'd on every entry point, since the
// runtime's current device is per host thread), its capabilities, one non-blocking stream that every upload,
// kernel and download of the context is ordered on, the cuBLASLt handle, and the error word — a host-mapped
// pinned word kernels raise DeviceErrorBits in, read for free after each synchronisation. Owns all of them.
#pragma once

#include "cuda_kernel_api.hpp"

#include <aprhost/abi.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

namespace aprhost::cuda {

class DeviceContext {
public:
    // Throws sdk::Error(DEVICE) with the probe's reason when CUDA cannot run, or naming the failed call.
    explicit DeviceContext(int device);
    ~DeviceContext();
    DeviceContext(const DeviceContext&) = delete;
    DeviceContext& operator=(const DeviceContext&) = delete;

    // Makes this context's device current for the calling thread (cheap; every vtable entry calls it).
    void bind() const;
    // Waits for the stream; throws sdk::Error(DEVICE) for an asynchronous CUDA error or a raised error word.
    void synchronize();
    // Reads and clears the error word (after a synchronisation); throws sdk::Error(DEVICE) describing the bits.
    void check_error_word();

    const DeviceCaps& caps() const { return caps_; }
    cudaStream_t stream() const { return stream_; }
    cublasLtContext* cublaslt() const { return lt_; }
    unsigned* error_word_device() const { return error_word_dev_; }
    aph_device_info info(bool graphs_enabled) const;

private:
    void release() noexcept;  // frees what the constructor made so far (also from its failure path)

    int device_ = 0;
    DeviceCaps caps_;
    std::string name_;
    int driver_version_ = 0, runtime_version_ = 0;
    cudaStream_t stream_ = nullptr;
    cublasLtContext* lt_ = nullptr;
    unsigned* error_word_host_ = nullptr;  // cudaHostAlloc(mapped)
    unsigned* error_word_dev_ = nullptr;
};

// "KV_STORE slot outside the cache; ..." for the set bits.
std::string describe_device_errors(unsigned bits);

}  // namespace aprhost::cuda
