// The contract between the CUDA runtime (context, buffers, streams, CUDA-graph capture: cuda_runtime /
// cuda_backend) and the quantised-weight kernels (MUL_MAT and GET_ROWS for every weight dtype: cuda_mul_mat*.cu,
// cuda_get_rows.cu). Plain C++ (no CUDA types beyond the opaque stream/handle), so host-only translation units can
// include it. All launches go onto `stream`; nothing here synchronises the host, allocates memory or calls any
// API that is illegal during stream capture (the runtime may be capturing the step into a CUDA graph).
#pragma once

#include <aprhost/abi.h>
#include <aprhost/graph_rules.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

struct CUstream_st;
struct cublasLtContext;

namespace aprhost::cuda {

struct DeviceCaps {
    int device = 0;
    int cc_major = 0, cc_minor = 0;  // compute capability (8.0, 8.9, 9.0 are built as SASS; PTX for others)
    int n_sms = 0;
    size_t shared_mem_per_block_optin = 0;
    size_t l2_bytes = 0;
};

// The device pointer of tensor element 0 (buffer base + t.offset). Implemented by the runtime.
void* device_pointer(const aph_tensor& t);

// What one node's launch may use. `workspace` is device memory owned by the runtime, reserved before capture
// and at least `workspace_bytes` large (the runtime sizes it with mul_mat_workspace_bytes for every node).
struct LaunchContext {
    CUstream_st* stream = nullptr;
    cublasLtContext* cublaslt = nullptr;  // a cublasLtHandle_t
    const DeviceCaps* caps = nullptr;
    void* workspace = nullptr;
    size_t workspace_bytes = 0;
};

// The tensor layout every CUDA kernel indexes: the ABI's (aprhost/graph_rules.hpp) plus offsets and strides that
// are multiples of the element size (4 bytes for f32/i32, 2 for everything else: the kernels' 16/32-bit loads).
inline constexpr sdk::LayoutRules kTensorLayout{int64_t{1} << 48, /*aligned_views=*/true, nullptr};

// "" when the node can run, else a one-line reason (aph_backend_vtable::supports): the SDK's op rules plus
// kTensorLayout for each of the node's tensors.
std::string mul_mat_unsupported(const aph_graph& g, const aph_node& n);
std::string get_rows_unsupported(const aph_graph& g, const aph_node& n);
// Device scratch a MUL_MAT node needs (quantised activations, dequantised FP16 weight tiles for cuBLASLt, the
// cuBLASLt workspace); 0 if none.
size_t mul_mat_workspace_bytes(const DeviceCaps& caps, const aph_graph& g, const aph_node& n);
// Enqueue the node on ctx.stream. Throws std::runtime_error (one line) on a launch or cuBLASLt error.
void launch_mul_mat(const LaunchContext& ctx, const aph_graph& g, const aph_node& n);
void launch_get_rows(const LaunchContext& ctx, const aph_graph& g, const aph_node& n);

}  // namespace aprhost::cuda
