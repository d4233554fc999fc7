#include "vk_pipelines.hpp"

#include <algorithm>
#include <string>

namespace aprhost::vk {

PipelineCache::PipelineCache(Device& dev) : dev_(dev) {
    push_bytes_ = std::min<uint32_t>(128, dev_.caps().max_push_constants);
    VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    Device::check(dev_.fns().vkCreatePipelineCache(dev_.handle(), &ci, nullptr, &cache_), "vkCreatePipelineCache");
}

PipelineCache::~PipelineCache() {
    const DeviceFns& f = dev_.fns();
    for (auto& [k, p] : pipelines_) f.vkDestroyPipeline(dev_.handle(), p.pipeline, nullptr);
    for (auto& [k, m] : modules_) f.vkDestroyShaderModule(dev_.handle(), m, nullptr);
    for (auto& [n, l] : layouts_) {
        f.vkDestroyPipelineLayout(dev_.handle(), l.layout, nullptr);
        f.vkDestroyDescriptorSetLayout(dev_.handle(), l.set_layout, nullptr);
    }
    if (cache_) f.vkDestroyPipelineCache(dev_.handle(), cache_, nullptr);
}

const PipelineCache::Layout& PipelineCache::layout_for(uint32_t n_bindings) {
    auto it = layouts_.find(n_bindings);
    if (it != layouts_.end()) return it->second;
    const DeviceFns& f = dev_.fns();
    std::vector<VkDescriptorSetLayoutBinding> b(n_bindings);
    for (uint32_t i = 0; i < n_bindings; ++i) {
        b[i].binding = i;
        b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        b[i].descriptorCount = 1;
        b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    Layout l;
    VkDescriptorSetLayoutCreateInfo sci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    sci.bindingCount = n_bindings;
    sci.pBindings = b.data();
    Device::check(f.vkCreateDescriptorSetLayout(dev_.handle(), &sci, nullptr, &l.set_layout), "vkCreateDescriptorSetLayout");
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes_};
    VkPipelineLayoutCreateInfo pci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pci.setLayoutCount = 1;
    pci.pSetLayouts = &l.set_layout;
    pci.pushConstantRangeCount = 1;
    pci.pPushConstantRanges = &range;
    VkResult r = f.vkCreatePipelineLayout(dev_.handle(), &pci, nullptr, &l.layout);
    if (r != VK_SUCCESS) {
        f.vkDestroyDescriptorSetLayout(dev_.handle(), l.set_layout, nullptr);
        Device::check(r, "vkCreatePipelineLayout");
    }
    return layouts_.emplace(n_bindings, l).first->second;
}

const Pipeline& PipelineCache::get(const ShaderBlob& shader, std::span<const uint32_t> spec, uint32_t n_bindings) {
    auto key = std::make_tuple(shader.words, std::vector<uint32_t>(spec.begin(), spec.end()), n_bindings);
    auto it = pipelines_.find(key);
    if (it != pipelines_.end()) return it->second;

    const DeviceFns& f = dev_.fns();
    const Layout& l = layout_for(n_bindings);
    VkShaderModule& module = modules_[shader.words];
    if (module == VK_NULL_HANDLE) {
        VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
        mci.codeSize = shader.n_words * sizeof(uint32_t);
        mci.pCode = shader.words;
        VkResult r = f.vkCreateShaderModule(dev_.handle(), &mci, nullptr, &module);
        if (r != VK_SUCCESS) {
            modules_.erase(shader.words);
            Device::check(r, (std::string("vkCreateShaderModule ") + shader.name).c_str());
        }
    }
    std::vector<VkSpecializationMapEntry> entries(spec.size());
    for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * 4u, 4u};
    VkSpecializationInfo si{};
    si.mapEntryCount = static_cast<uint32_t>(entries.size());
    si.pMapEntries = entries.data();
    si.dataSize = spec.size() * sizeof(uint32_t);
    si.pData = spec.data();

    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
    ci.layout = l.layout;
    Pipeline p{VK_NULL_HANDLE, l.layout, l.set_layout};
    Device::check(f.vkCreateComputePipelines(dev_.handle(), cache_, 1, &ci, nullptr, &p.pipeline),
                  (std::string("vkCreateComputePipelines ") + shader.name).c_str());
    return pipelines_.emplace(std::move(key), p).first->second;
}

}  // namespace aprhost::vk
