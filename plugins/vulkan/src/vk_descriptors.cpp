#include "vk_descriptors.hpp"

#include <aprhost/plugin.hpp>

namespace aprhost::vk {

namespace {
constexpr uint32_t kSetsPerPool = 512;
constexpr uint32_t kBuffersPerSet = 8;
}  // namespace

DescriptorAllocator::DescriptorAllocator(Device& dev) : dev_(dev) { add_pool(); }

DescriptorAllocator::~DescriptorAllocator() {
    for (VkDescriptorPool p : pools_) dev_.fns().vkDestroyDescriptorPool(dev_.handle(), p, nullptr);
}

void DescriptorAllocator::add_pool() {
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kBuffersPerSet};
    VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    ci.maxSets = kSetsPerPool;
    ci.poolSizeCount = 1;
    ci.pPoolSizes = &size;
    VkDescriptorPool p = VK_NULL_HANDLE;
    Device::check(dev_.fns().vkCreateDescriptorPool(dev_.handle(), &ci, nullptr, &p), "vkCreateDescriptorPool");
    pools_.push_back(p);
}

VkDescriptorSet DescriptorAllocator::allocate(VkDescriptorSetLayout layout) {
    for (;;) {
        VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = pools_[current_];
        ai.descriptorSetCount = 1;
        ai.pSetLayouts = &layout;
        VkDescriptorSet set = VK_NULL_HANDLE;
        const VkResult r = dev_.fns().vkAllocateDescriptorSets(dev_.handle(), &ai, &set);
        if (r == VK_SUCCESS) return set;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) Device::check(r, "vkAllocateDescriptorSets");
        if (++current_ == pools_.size()) add_pool();
    }
}

void DescriptorAllocator::reset() {
    for (VkDescriptorPool p : pools_) dev_.fns().vkResetDescriptorPool(dev_.handle(), p, 0);
    current_ = 0;
}

}  // namespace aprhost::vk
