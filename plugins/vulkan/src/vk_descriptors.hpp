// Descriptor sets for one graph: every dispatch gets a fresh set from a list of pools (each 512 sets × 8 storage
// buffers); a new pool is added when the last one is full. reset() (after the graph's fence) makes all sets free.
#pragma once

#include "vk_device.hpp"

#include <vector>

namespace aprhost::vk {

class DescriptorAllocator {
public:
    explicit DescriptorAllocator(Device& dev);
    ~DescriptorAllocator();
    DescriptorAllocator(const DescriptorAllocator&) = delete;
    DescriptorAllocator& operator=(const DescriptorAllocator&) = delete;

    VkDescriptorSet allocate(VkDescriptorSetLayout layout);
    void reset();

private:
    void add_pool();

    Device& dev_;
    std::vector<VkDescriptorPool> pools_;
    size_t current_ = 0;
};

}  // namespace aprhost::vk
