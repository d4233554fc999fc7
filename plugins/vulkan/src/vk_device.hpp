// The logical device of one backend context: VkDevice with the features the kernels use enabled (8/16-bit
// storage always; fp16/int8 arithmetic, int16/int64/fp64 and integer dot product when the device has them), one
// compute queue, its function table and the memory types. Owns nothing else; created after Instance::select.
#pragma once

#include "vk_instance.hpp"
#include "vk_loader.hpp"

#include <cstdint>

namespace aprhost::vk {

class Device {
public:
    Device(Instance& instance, const PhysicalDevice& pd);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const DeviceFns& fns() const { return fns_; }
    VkDevice handle() const { return device_; }
    VkQueue queue() const { return queue_; }
    uint32_t queue_family() const { return pd_.compute_queue_family; }
    const PhysicalDevice& physical() const { return pd_; }
    const DeviceCaps& caps() const { return pd_.caps; }
    // Hide capabilities from the kernels (options subgroups=0 / fp64=0), to run the fallback shaders on a device
    // that has the features. Never adds a capability.
    void restrict_caps(bool subgroup_arithmetic, bool float64) {
        pd_.caps.subgroup_arithmetic = pd_.caps.subgroup_arithmetic && subgroup_arithmetic;
        pd_.caps.shader_float64 = pd_.caps.shader_float64 && float64;
    }
    // Lower the binding limit kernels and Recorder::bind() see (option max_binding_bytes), to run the multi-window
    // paths on small tensors. Never raises it.
    void restrict_binding_range(uint64_t bytes) {
        if (bytes < pd_.caps.max_storage_buffer_range) pd_.caps.max_storage_buffer_range = bytes;
    }
    const VkPhysicalDeviceMemoryProperties& memory_properties() const { return mem_; }

    // Throws sdk::Error(DEVICE) naming `what` when r is not VK_SUCCESS.
    static void check(VkResult r, const char* what);

private:
    PhysicalDevice pd_;
    DeviceFns fns_;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    VkPhysicalDeviceMemoryProperties mem_{};
};

}  // namespace aprhost::vk
