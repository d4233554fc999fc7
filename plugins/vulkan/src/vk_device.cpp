#include "vk_device.hpp"

#include <aprhost/plugin.hpp>

#include <string>
#include <vector>

namespace aprhost::vk {

void Device::check(VkResult r, const char* what) {
    if (r == VK_SUCCESS) return;
    const aph_status st = (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) ? APH_STATUS_OUT_OF_MEMORY
                                                                                                   : APH_STATUS_DEVICE;
    throw sdk::Error(st, std::string(what) + " failed: " + vk_result_name(r));
}

Device::Device(Instance& instance, const PhysicalDevice& pd) : pd_(pd) {
    const InstanceFns& ifn = instance.fns();
    ifn.vkGetPhysicalDeviceMemoryProperties(pd_.handle, &mem_);

    VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
    dot.shaderIntegerDotProduct = VK_TRUE;
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    f12.storageBuffer8BitAccess = VK_TRUE;
    f12.shaderFloat16 = pd_.caps.shader_float16;
    f12.shaderInt8 = pd_.caps.shader_int8;
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    f11.storageBuffer16BitAccess = VK_TRUE;
    f11.pNext = &f12;
    if (pd_.caps.integer_dot_product) f12.pNext = &dot;
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    f2.features.shaderInt16 = pd_.shader_int16;
    f2.features.shaderInt64 = pd_.shader_int64;
    f2.features.shaderFloat64 = pd_.shader_float64;
    f2.pNext = &f11;

    // The integer-dot feature of a 1.2 device comes from the KHR extension, which must then be enabled too.
    std::vector<const char*> extensions;
    if (pd_.caps.integer_dot_product && pd_.api_version < VK_API_VERSION_1_3)
        extensions.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = pd_.compute_queue_family;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    ci.pNext = &f2;
    ci.queueCreateInfoCount = 1;
    ci.pQueueCreateInfos = &qci;
    ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    ci.ppEnabledExtensionNames = extensions.data();
    check(ifn.vkCreateDevice(pd_.handle, &ci, nullptr, &device_), "vkCreateDevice");
    if (!instance.loader().load_device(ifn, device_, fns_)) {
        auto destroy = reinterpret_cast<PFN_vkDestroyDevice>(ifn.vkGetDeviceProcAddr(device_, "vkDestroyDevice"));
        if (destroy) destroy(device_, nullptr);
        device_ = VK_NULL_HANDLE;
        throw sdk::Error(APH_STATUS_DEVICE, instance.loader().error());
    }
    fns_.vkGetDeviceQueue(device_, pd_.compute_queue_family, 0, &queue_);
}

Device::~Device() {
    if (device_ != VK_NULL_HANDLE) {
        fns_.vkDeviceWaitIdle(device_);
        fns_.vkDestroyDevice(device_, nullptr);
    }
}

}  // namespace aprhost::vk
