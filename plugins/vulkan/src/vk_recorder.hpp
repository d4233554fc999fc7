// The Recorder of one graph (vk_kernel_api.hpp): hands out bindings of aph tensors (windows aligned to the
// device's minStorageBufferOffsetAlignment and at most maxStorageBufferRange long), scratch and constant memory
// from the per-graph arenas, and records dispatches (pipeline from the cache, a fresh descriptor set, push
// constants) and barriers into the graph's command buffer. Lives only while the graph is being recorded.
#pragma once

#include "vk_descriptors.hpp"
#include "vk_kernel_api.hpp"
#include "vk_memory.hpp"
#include "vk_pipelines.hpp"

#include <functional>

namespace aprhost::vk {

class GraphRecorder final : public Recorder {
public:
    // lookup: the VkBuf of an aph buffer handle (throws for unknown handles).
    GraphRecorder(Device& dev, PipelineCache& pipelines, DescriptorAllocator& descriptors, Arena& scratch,
                  Arena& constants, VkCommandBuffer cmd, std::function<VkBuf*(aph_buffer_t)> lookup);

    const DeviceCaps& caps() const override { return dev_.caps(); }
    Binding bind(const aph_tensor& t, uint64_t byte_offset, uint64_t bytes, uint32_t* shift_bytes) override;
    Binding scratch(uint64_t bytes) override;
    Binding constants(const void* data, uint64_t bytes) override;
    void dispatch(const ShaderBlob& shader, std::span<const uint32_t> spec, std::span<const Binding> bindings,
                  const void* push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z) override;
    void barrier() override;

    uint64_t dispatches() const { return dispatches_; }

private:
    Device& dev_;
    PipelineCache& pipelines_;
    DescriptorAllocator& descriptors_;
    Arena& scratch_;
    Arena& constants_;
    VkCommandBuffer cmd_;
    std::function<VkBuf*(aph_buffer_t)> lookup_;
    uint64_t dispatches_ = 0;
};

// A compute→compute (and transfer) memory barrier: everything written before is visible to what follows.
void record_full_barrier(const DeviceFns& f, VkCommandBuffer cmd);

}  // namespace aprhost::vk
