// Compute pipelines, created on first use and cached per (shader, specialization constants, binding count).
// Every pipeline of n storage-buffer bindings shares one descriptor-set layout (set 0, bindings 0..n-1, compute
// stage) and one pipeline layout with a push-constant range of the device's limit (at most 128 bytes), so a kernel
// may push any struct up to caps().max_push_constants. A VkPipelineCache backs creation (in memory only).
#pragma once

#include "vk_device.hpp"
#include "vk_kernel_api.hpp"

#include <cstdint>
#include <map>
#include <span>
#include <tuple>
#include <vector>

namespace aprhost::vk {

struct Pipeline {
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
};

class PipelineCache {
public:
    explicit PipelineCache(Device& dev);
    ~PipelineCache();
    PipelineCache(const PipelineCache&) = delete;
    PipelineCache& operator=(const PipelineCache&) = delete;

    const Pipeline& get(const ShaderBlob& shader, std::span<const uint32_t> spec, uint32_t n_bindings);
    uint32_t push_constant_bytes() const { return push_bytes_; }
    size_t size() const { return pipelines_.size(); }

private:
    struct Layout {
        VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
        VkPipelineLayout layout = VK_NULL_HANDLE;
    };
    const Layout& layout_for(uint32_t n_bindings);

    Device& dev_;
    uint32_t push_bytes_ = 128;
    VkPipelineCache cache_ = VK_NULL_HANDLE;
    std::map<uint32_t, Layout> layouts_;
    std::map<const uint32_t*, VkShaderModule> modules_;
    std::map<std::tuple<const uint32_t*, std::vector<uint32_t>, uint32_t>, Pipeline> pipelines_;
};

}  // namespace aprhost::vk
