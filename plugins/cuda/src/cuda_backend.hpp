// The CUDA backend context ("cuda" plugin): device buffers (cudaMalloc, byte accounting), uploads/downloads on one
// stream, and graph execution: every node of a step graph is enqueued in order on that stream with no host
// synchronisation; repeated structures (the decode loop) are captured once into a CUDA graph and replayed
// (cuda_graph_cache.hpp). Values that change between replays come from device memory: token ids, positions, slots
// and block tables are uploaded by the host into the same buffers each step, and ATTENTION's n_kv is written into
// the step-params buffer by a kernel launched before the replay.
//
// Options (aph_option key/values; unknown keys are rejected):
//   device  = N        CUDA device index (default 0)
//   graphs  = 1|0      capture repeated step graphs into CUDA graphs (default 1); 0 = always launch node by node
//   fuse    = 1|0      run the adjacent pairs of cuda_fusion.hpp as one kernel each (default 1)
//   threads = N        accepted and ignored (the host's -t is meant for the CPU backend)
//
// Scratch owned by the context: the workspace (sized before any capture with mul_mat_workspace_bytes and
// attention_workspace_bytes; growing it drops the captured graphs) and the step-params buffer. Both count in
// stats().bytes_allocated together with the buffers.
#pragma once

#include "cuda_buffer.hpp"
#include "cuda_device.hpp"
#include "cuda_fusion.hpp"
#include "cuda_graph_cache.hpp"
#include "cuda_ops.hpp"
#include "cuda_transfer.hpp"

#include <aprhost/abi.h>
#include <aprhost/plugin.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aprhost::cuda {

class CudaBackend {
public:
    CudaBackend(const aph_host_services* host, const sdk::Options& opts);
    ~CudaBackend();
    CudaBackend(const CudaBackend&) = delete;
    CudaBackend& operator=(const CudaBackend&) = delete;

    aph_device_info device_info();
    aph_buffer_t buffer_alloc(uint64_t size);
    void buffer_free(aph_buffer_t buf);
    void buffer_upload(aph_buffer_t buf, uint64_t offset, const void* src, uint64_t size);
    void buffer_download(aph_buffer_t buf, uint64_t offset, void* dst, uint64_t size);
    std::string unsupported_reason(const aph_graph& g, uint32_t node);
    void graph_compute(const aph_graph& g);
    // Node-by-node execution with a pair of CUDA events around each node; waits and writes each node's time.
    void graph_profile(const aph_graph& g, uint64_t* node_ns);
    void synchronize();
    aph_backend_stats stats();

    // The plugin's score (no driver / no device / driver too old → 0 with the reason).
    static uint32_t score(std::string& reason);

private:
    void validate(const aph_graph& g);
    void prepare_scratch(const aph_graph& g);
    void enqueue_params(const aph_graph& g);
    void launch_nodes(const aph_graph& g);
    void launch_node(const aph_graph& g, uint32_t index, int attention_slot);
    void launch_planned(const aph_graph& g, const PlannedLaunch& l);
    void capture_and_launch(const aph_graph& g, size_t cache_entry);
    void log(aph_log_level level, const std::string& msg) const { sdk::log(host_, level, msg); }
    OpContext op_context() const;

    const aph_host_services* host_;
    bool graphs_enabled_ = true;
    bool fuse_ = true;
    std::vector<PlannedLaunch> plan_;  // of the graph being launched
    std::unique_ptr<DeviceContext> dev_;
    std::unique_ptr<Transfers> transfers_;
    BufferTable buffers_;
    GraphCache graph_cache_;
    void* workspace_ = nullptr;
    size_t workspace_bytes_ = 0;
    int32_t* step_params_ = nullptr;
    size_t step_params_capacity_ = 0;  // int32 slots
    std::vector<int32_t> params_host_;
    std::vector<uint32_t> attention_index_;  // per node: its step-params slot (ATTENTION nodes only)
    std::vector<cudaEvent_t> events_;        // graph_profile
    uint64_t graphs_computed_ = 0, nodes_computed_ = 0;
};

}  // namespace aprhost::cuda
