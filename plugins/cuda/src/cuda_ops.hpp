// Launch entry points of the runtime's own kernels (every op except MUL_MAT and GET_ROWS, which are in
// cuda_kernel_api.hpp). Plain C++: the runtime (.cpp, host compiler) calls them, the .cu files implement them.
// Each enqueues on ctx.lc.stream only, never synchronises or allocates, so all of them can be captured into a
// CUDA graph. They throw CudaError (cuda_check.hpp) on a launch error. Nodes were validated before (cuda_validate).
#pragma once

#include "cuda_index_math.hpp"
#include "cuda_kernel_api.hpp"

#include <aprhost/abi.h>

#include <cstddef>
#include <cstdint>

namespace aprhost::cuda {

// What the runtime hands to its own kernels besides the contract's LaunchContext.
struct OpContext {
    LaunchContext lc;
    // Device array of per-step values the runtime rewrites before every execution (also before a CUDA-graph
    // replay): step_params[i] = n_kv of the i-th ATTENTION node of the graph.
    const int32_t* step_params = nullptr;
    // Device address of the context's error word (DeviceErrorBits), host-mapped.
    unsigned* error_word = nullptr;
};

// The view of graph tensor `index` (device address from device_pointer()).
View make_view(const aph_graph& g, int32_t index);
// Bytes of one row (ne[0] elements) of t's dtype, I32 included; 0 for an unknown dtype.
int64_t tensor_row_bytes(const aph_tensor& t);

void launch_rms_norm(const OpContext& ctx, const aph_graph& g, const aph_node& n);
void launch_add(const OpContext& ctx, const aph_graph& g, const aph_node& n);
void launch_scale(const OpContext& ctx, const aph_graph& g, const aph_node& n);
void launch_swiglu(const OpContext& ctx, const aph_graph& g, const aph_node& n);
void launch_geglu(const OpContext& ctx, const aph_graph& g, const aph_node& n);
void launch_copy(const OpContext& ctx, const aph_graph& g, const aph_node& n);
void launch_rope(const OpContext& ctx, const aph_graph& g, const aph_node& n);
void launch_kv_store(const OpContext& ctx, const aph_graph& g, const aph_node& n);

// Fused pairs (cuda_fusion.hpp decides when): ADD then RMS_NORM of its output; a layer's two ROPEs (same
// positions and parameters); its two KV_STOREs (same slots).
void launch_add_rms_norm(const OpContext& ctx, const aph_graph& g, const aph_node& add, const aph_node& norm);
void launch_rope_pair(const OpContext& ctx, const aph_graph& g, const aph_node& n1, const aph_node& n2);
void launch_kv_store_pair(const OpContext& ctx, const aph_graph& g, const aph_node& n1, const aph_node& n2);

// ATTENTION reads its n_kv from ctx.step_params[param_index] (device memory), not from n.iparams[0], so a captured
// graph replays correctly while the sequence grows. One query per step (decode): flash-decoding, split KV then a
// reduction pass through the workspace; more queries: a tiled kernel (no workspace).
void launch_attention(const OpContext& ctx, const aph_graph& g, const aph_node& n, int param_index);
size_t attention_workspace_bytes(const DeviceCaps& caps, const aph_graph& g, const aph_node& n);
// Dynamic shared memory of the tiled (several-query) kernel for a head_dim; validation compares it with the device.
size_t attention_tile_smem_bytes(int64_t head_dim);
// Once per context: raise the tiled kernel's dynamic shared-memory limit to what the device allows.
void attention_prepare_device(const DeviceCaps& caps);
// The largest head_dim the attention kernels take.
constexpr int64_t kAttentionMaxHeadDim = 256;

// Writes values[0 .. count) to dst (device) on stream, as kernel arguments: nothing on the host has to outlive
// the call and no host synchronisation is needed (cuda_step_params.cu).
void enqueue_step_params(CUstream_st* stream, int32_t* dst, const int32_t* values, int count);

}  // namespace aprhost::cuda
