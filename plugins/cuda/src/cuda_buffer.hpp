// Device buffers of the CUDA backend. An aph_buffer_t of this plugin points to a CudaBuffer (device memory from
// cudaMalloc, owned by the context that made it). BufferTable tracks the live ones of a context (so a foreign or
// freed handle is an error, not a crash) and their bytes. Also the tensor helpers every launch uses:
// device_pointer() (the kernel contract), make_view(), tensor_row_bytes().
#pragma once

#include "cuda_index_math.hpp"

#include <aprhost/abi.h>

#include <cstdint>
#include <string>
#include <unordered_set>

namespace aprhost::cuda {

struct CudaBuffer {
    void* ptr = nullptr;  // device memory; nullptr for a 0-byte buffer
    uint64_t size = 0;
};

inline CudaBuffer* as_cuda_buffer(aph_buffer_t b) { return reinterpret_cast<CudaBuffer*>(b); }
inline aph_buffer_t as_handle(CudaBuffer* b) { return reinterpret_cast<aph_buffer_t>(b); }

class BufferTable {
public:
    BufferTable() = default;
    BufferTable(const BufferTable&) = delete;
    BufferTable& operator=(const BufferTable&) = delete;
    ~BufferTable();  // frees what is left (cudaFree errors are ignored there: the context is going away)

    // cudaMalloc; throws sdk::Error(OUT_OF_MEMORY) naming the size and the device's free memory.
    CudaBuffer* allocate(uint64_t size);
    // cudaFree; the caller has made sure no queued work uses it.
    void release(CudaBuffer* b);
    // The buffer behind a handle of this context, or sdk::Error(INVALID_ARGUMENT) naming `what`.
    CudaBuffer* checked(aph_buffer_t handle, const char* what) const;
    bool contains(aph_buffer_t handle) const { return live_.count(as_cuda_buffer(handle)) != 0; }
    uint64_t bytes() const { return bytes_; }

private:
    std::unordered_set<CudaBuffer*> live_;
    uint64_t bytes_ = 0;
};

}  // namespace aprhost::cuda
