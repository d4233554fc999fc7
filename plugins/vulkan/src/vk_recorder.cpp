#include "vk_recorder.hpp"

#include <aprhost/plugin.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace aprhost::vk {

GraphRecorder::GraphRecorder(Device& dev, PipelineCache& pipelines, DescriptorAllocator& descriptors, Arena& scratch,
                             Arena& constants, VkCommandBuffer cmd, std::function<VkBuf*(aph_buffer_t)> lookup)
    : dev_(dev), pipelines_(pipelines), descriptors_(descriptors), scratch_(scratch), constants_(constants), cmd_(cmd),
      lookup_(std::move(lookup)) {}

Binding GraphRecorder::bind(const aph_tensor& t, uint64_t byte_offset, uint64_t bytes, uint32_t* shift_bytes) {
    VkBuf* b = lookup_(t.buffer);
    const DeviceCaps& c = dev_.caps();
    const uint64_t align = c.min_storage_buffer_offset_alignment;
    const uint64_t start = t.offset + byte_offset;
    const uint64_t aligned = start / align * align;
    const uint64_t shift = start - aligned;
    uint64_t range = std::max<uint64_t>(bytes + shift, 4);
    if (start + bytes > b->alloc_size || start + bytes < start)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "binding [" + std::to_string(start) + ", +" + std::to_string(bytes) +
                                                          ") lies outside its buffer of " + std::to_string(b->size) + " bytes");
    if (range > c.max_storage_buffer_range)
        throw sdk::Error(APH_STATUS_UNSUPPORTED, "a binding of " + std::to_string(range) + " bytes exceeds maxStorageBufferRange (" +
                                                     std::to_string(c.max_storage_buffer_range) + ")");
    // Whole 4-byte words (shaders may load the 32-bit word holding a trailing 16-bit value) where the buffer allows.
    const uint64_t rounded = (range + 3) / 4 * 4;
    if (aligned + rounded <= b->alloc_size && rounded <= c.max_storage_buffer_range) range = rounded;
    range = std::min(range, b->alloc_size - aligned);
    if (shift_bytes) *shift_bytes = static_cast<uint32_t>(shift);
    return Binding{b->buffer, aligned, range};
}

Binding GraphRecorder::scratch(uint64_t bytes) {
    const Arena::Slice s = scratch_.alloc(bytes);
    return Binding{s.buf->buffer, s.offset, std::max<uint64_t>(bytes, 4)};
}

Binding GraphRecorder::constants(const void* data, uint64_t bytes) {
    const Arena::Slice s = constants_.alloc(bytes);
    if (!s.buf->mapped) throw sdk::Error(APH_STATUS_DEVICE, "constant arena is not host-visible");
    std::memcpy(s.buf->mapped + s.offset, data, bytes);
    return Binding{s.buf->buffer, s.offset, std::max<uint64_t>(bytes, 4)};
}

void GraphRecorder::dispatch(const ShaderBlob& shader, std::span<const uint32_t> spec, std::span<const Binding> bindings,
                             const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    if (gx == 0 || gy == 0 || gz == 0) return;
    const DeviceCaps& c = dev_.caps();
    if (gx > c.max_workgroup_count[0] || gy > c.max_workgroup_count[1] || gz > c.max_workgroup_count[2])
        throw sdk::Error(APH_STATUS_UNSUPPORTED, std::string(shader.name) + ": " + std::to_string(gx) + "x" +
                                                     std::to_string(gy) + "x" + std::to_string(gz) +
                                                     " workgroups exceed the device's limits");
    if (push_bytes > pipelines_.push_constant_bytes() || push_bytes % 4 != 0)
        throw sdk::Error(APH_STATUS_INTERNAL, std::string(shader.name) + ": push constants of " + std::to_string(push_bytes) + " bytes");
    const Pipeline& p = pipelines_.get(shader, spec, static_cast<uint32_t>(bindings.size()));
    const DeviceFns& f = dev_.fns();
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (!bindings.empty()) {
        set = descriptors_.allocate(p.set_layout);
        std::vector<VkDescriptorBufferInfo> infos(bindings.size());
        std::vector<VkWriteDescriptorSet> writes(bindings.size());
        for (size_t i = 0; i < bindings.size(); ++i) {
            if (bindings[i].buffer == VK_NULL_HANDLE)
                throw sdk::Error(APH_STATUS_INTERNAL, std::string(shader.name) + ": binding " + std::to_string(i) + " is empty");
            infos[i] = {bindings[i].buffer, bindings[i].offset, bindings[i].range};
            writes[i] = VkWriteDescriptorSet{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
            writes[i].dstSet = set;
            writes[i].dstBinding = static_cast<uint32_t>(i);
            writes[i].descriptorCount = 1;
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i].pBufferInfo = &infos[i];
        }
        f.vkUpdateDescriptorSets(dev_.handle(), static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
    }
    f.vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
    if (set != VK_NULL_HANDLE)
        f.vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
    if (push_bytes) f.vkCmdPushConstants(cmd_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    f.vkCmdDispatch(cmd_, gx, gy, gz);
    ++dispatches_;
}

void GraphRecorder::barrier() { record_full_barrier(dev_.fns(), cmd_); }

void record_full_barrier(const DeviceFns& f, VkCommandBuffer cmd) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT;
    f.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0,
                           nullptr);
}

}  // namespace aprhost::vk
