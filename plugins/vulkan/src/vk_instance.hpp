// The Vulkan instance and device selection: loader → VkInstance (optionally with the Khronos validation layer and a
// debug-utils messenger that reports every validation message) → the physical devices, each described with its
// type, capabilities and whether this backend can use it, and the choice of one of them.
//
// Selection: `device=N` (the index in vkEnumeratePhysicalDevices order, as `aprhost plugins` lists them) or the
// best usable device by type: discrete > integrated > virtual > CPU > other, ties by enumeration order.
// Usable = Vulkan 1.2+, a compute queue, storageBuffer8BitAccess and storageBuffer16BitAccess.
#pragma once

#include "vk_kernel_api.hpp"
#include "vk_loader.hpp"

#include <aprhost/abi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace aprhost::vk {

// What the validation messenger saw. Owned by the Instance; the backend checks it on every call.
struct ValidationSink {
    const aph_host_services* host = nullptr;
    std::atomic<uint64_t> count{0};  // messages since creation
    std::mutex mu;
    std::string pending;  // first message not yet turned into an error ("" = none)
};

struct PhysicalDevice {
    VkPhysicalDevice handle = VK_NULL_HANDLE;
    uint32_t index = 0;  // in enumeration order
    std::string name;
    VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
    uint32_t api_version = 0;
    uint32_t driver_version = 0;
    uint32_t compute_queue_family = UINT32_MAX;
    uint32_t timestamp_valid_bits = 0;
    float timestamp_period_ns = 1.0f;
    uint64_t device_local_bytes = 0;
    DeviceCaps caps;
    bool storage_8bit = false, storage_16bit = false;
    bool shader_int16 = false, shader_int64 = false, shader_float64 = false;
    bool subgroup_basic = false;
    std::string unusable;  // "" = usable, else why not

    // "cpu", "discrete GPU", ...
    const char* type_name() const;
    // "Vulkan 1.3.230, subgroup 8 (arithmetic), fp16, int8, fp64, 8/16-bit storage, int-dot, 2048 MiB"
    std::string features() const;
    // Selection rank by type (higher is preferred).
    int rank() const;
};

class Instance {
public:
    // validation: enable VK_LAYER_KHRONOS_validation + a messenger into sink. Throws sdk::Error(DEVICE/UNSUPPORTED)
    // with a one-line reason when the loader, the instance or the layer is missing.
    Instance(bool validation, ValidationSink* sink);
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    const InstanceFns& fns() const { return fns_; }
    Loader& loader() { return loader_; }
    VkInstance handle() const { return instance_; }
    bool validation() const { return messenger_ != VK_NULL_HANDLE; }
    const std::vector<PhysicalDevice>& devices() const { return devices_; }

    // requested < 0: the best usable device; otherwise that index (throws when absent or unusable).
    const PhysicalDevice& select(long long requested) const;

private:
    void enumerate();

    Loader loader_;
    InstanceFns fns_;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    std::vector<PhysicalDevice> devices_;
};

// The plugin score without creating a context: 0 + why when there is no loader, no instance, no device or no
// usable device; otherwise > 0 with the devices listed in reason.
uint32_t vulkan_score(std::string& reason);

}  // namespace aprhost::vk
