// The Vulkan backend context ("vulkan" plugin): one device, its queue and memory, and graph execution.
//
// Options (aph_option key/values; unknown keys are rejected):
//   device     = N    the Vulkan device index (enumeration order, as `aprhost plugins` lists them); default: the
//                     best usable one (discrete > integrated > virtual > CPU). `aprhost --vk-device N` sets it.
//   validation = 0|1  enable VK_LAYER_KHRONOS_validation (default 0, or 1 when APRHOST_VK_VALIDATION=1 is in the
//                     environment). Every validation message is logged and turns the next call into an error.
//   subgroups  = 0|1  0: kernels see no subgroup arithmetic and use their shared-memory variants (default 1)
//   fp64       = 0|1  0: kernels see no shaderFloat64 (ROPE forms its angles in f32) (default 1)
//   staging    = 0|1  1: uploads/downloads go through staging buffers even on a unified-memory device (default 0)
//   validation_selftest = 0|1  1: make one deliberately invalid Vulkan call at creation (tests of validation)
//   threads    = N    accepted and ignored (the conformance suite passes it to every backend).
//
// Execution: graph_compute records the whole graph into one command buffer (a barrier between nodes), submits it
// with a fence and returns; synchronize, buffer_upload and buffer_download wait for that fence first, so host
// transfers are ordered with the graphs around them. graph_profile adds timestamp queries around every node (or,
// on a queue without timestamps, submits node by node under a host clock).
#pragma once

#include "vk_descriptors.hpp"
#include "vk_device.hpp"
#include "vk_instance.hpp"
#include "vk_memory.hpp"
#include "vk_pipelines.hpp"

#include <aprhost/abi.h>
#include <aprhost/plugin.hpp>

#include <memory>
#include <string>
#include <unordered_map>

namespace aprhost::vk {

class VkBackend {
public:
    VkBackend(const aph_host_services* host, const sdk::Options& opts);
    ~VkBackend();
    VkBackend(const VkBackend&) = delete;
    VkBackend& operator=(const VkBackend&) = delete;

    aph_device_info device_info();
    aph_buffer_t buffer_alloc(uint64_t size);
    void buffer_free(aph_buffer_t buf);
    void buffer_upload(aph_buffer_t buf, uint64_t offset, const void* src, uint64_t size);
    void buffer_download(aph_buffer_t buf, uint64_t offset, void* dst, uint64_t size);
    std::string unsupported_reason(const aph_graph& g, uint32_t node);
    void graph_compute(const aph_graph& g);
    void graph_profile(const aph_graph& g, uint64_t* node_ns);
    void synchronize();
    aph_backend_stats stats();

    static uint32_t score(std::string& reason) { return vulkan_score(reason); }

private:
    void teardown() noexcept;
    VkBuf* checked(aph_buffer_t buf, const char* what) const;
    void check_validation();
    void validate_graph(const aph_graph& g);
    void wait_idle();
    // Records nodes [first, last) into cmd_ (timestamps when profiling) and submits.
    void record_and_submit(const aph_graph& g, uint32_t first, uint32_t last, bool timestamps);
    void record_node(class GraphRecorder& rec, const aph_graph& g, uint32_t i);
    void ensure_query_pool(uint32_t queries);

    const aph_host_services* host_;
    ValidationSink sink_;  // before instance_: the messenger points at it
    std::unique_ptr<Instance> instance_;
    std::unique_ptr<Device> device_;
    std::unique_ptr<Memory> memory_;
    std::unique_ptr<PipelineCache> pipelines_;
    std::unique_ptr<DescriptorAllocator> descriptors_;
    std::unique_ptr<Arena> scratch_;
    std::unique_ptr<Arena> constants_;
    VkCommandPool cmd_pool_ = VK_NULL_HANDLE;
    VkCommandBuffer cmd_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkQueryPool query_pool_ = VK_NULL_HANDLE;
    uint32_t query_capacity_ = 0;
    bool in_flight_ = false;

    std::unordered_map<VkBuf*, uint64_t> buffers_;  // live buffers → size
    uint64_t bytes_allocated_ = 0;
    uint64_t graphs_computed_ = 0;
    uint64_t nodes_computed_ = 0;
};

}  // namespace aprhost::vk
