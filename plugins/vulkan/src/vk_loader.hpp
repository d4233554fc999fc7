// The Vulkan loader, opened at run time: dlopen("libvulkan.so.1") and every entry point this plugin calls,
// resolved into plain function-pointer tables (global → instance → device). Nothing is global: each backend
// context owns its own Loader, so two contexts (or two plugins) never share state.
// Built with VK_NO_PROTOTYPES: no translation unit of the plugin may call a prototype from <vulkan/vulkan.h>.
#pragma once

#include <vulkan/vulkan.h>

#include <string>

namespace aprhost::vk {

#define APRHOST_VK_GLOBAL_FNS(X)            \
    X(vkCreateInstance)                     \
    X(vkEnumerateInstanceVersion)           \
    X(vkEnumerateInstanceLayerProperties)   \
    X(vkEnumerateInstanceExtensionProperties)

#define APRHOST_VK_INSTANCE_FNS(X)                \
    X(vkDestroyInstance)                          \
    X(vkEnumeratePhysicalDevices)                 \
    X(vkGetPhysicalDeviceProperties)              \
    X(vkGetPhysicalDeviceProperties2)             \
    X(vkGetPhysicalDeviceFeatures2)               \
    X(vkGetPhysicalDeviceMemoryProperties)        \
    X(vkGetPhysicalDeviceQueueFamilyProperties)   \
    X(vkEnumerateDeviceExtensionProperties)       \
    X(vkCreateDevice)                             \
    X(vkGetDeviceProcAddr)

// Present only when VK_EXT_debug_utils was enabled (validation); may stay NULL.
#define APRHOST_VK_DEBUG_FNS(X)        \
    X(vkCreateDebugUtilsMessengerEXT)  \
    X(vkDestroyDebugUtilsMessengerEXT)

#define APRHOST_VK_DEVICE_FNS(X)        \
    X(vkDestroyDevice)                  \
    X(vkGetDeviceQueue)                 \
    X(vkDeviceWaitIdle)                 \
    X(vkQueueSubmit)                    \
    X(vkQueueWaitIdle)                  \
    X(vkCreateBuffer)                   \
    X(vkDestroyBuffer)                  \
    X(vkGetBufferMemoryRequirements)    \
    X(vkAllocateMemory)                 \
    X(vkFreeMemory)                     \
    X(vkBindBufferMemory)               \
    X(vkMapMemory)                      \
    X(vkUnmapMemory)                    \
    X(vkFlushMappedMemoryRanges)        \
    X(vkInvalidateMappedMemoryRanges)   \
    X(vkCreateCommandPool)              \
    X(vkDestroyCommandPool)             \
    X(vkAllocateCommandBuffers)         \
    X(vkFreeCommandBuffers)             \
    X(vkBeginCommandBuffer)             \
    X(vkEndCommandBuffer)               \
    X(vkResetCommandBuffer)             \
    X(vkCmdBindPipeline)                \
    X(vkCmdBindDescriptorSets)          \
    X(vkCmdPushConstants)               \
    X(vkCmdDispatch)                    \
    X(vkCmdPipelineBarrier)             \
    X(vkCmdCopyBuffer)                  \
    X(vkCmdResetQueryPool)              \
    X(vkCmdWriteTimestamp)              \
    X(vkCreateFence)                    \
    X(vkDestroyFence)                   \
    X(vkWaitForFences)                  \
    X(vkResetFences)                    \
    X(vkCreateShaderModule)             \
    X(vkDestroyShaderModule)            \
    X(vkCreateDescriptorSetLayout)      \
    X(vkDestroyDescriptorSetLayout)     \
    X(vkCreatePipelineLayout)           \
    X(vkDestroyPipelineLayout)          \
    X(vkCreatePipelineCache)            \
    X(vkDestroyPipelineCache)           \
    X(vkCreateComputePipelines)         \
    X(vkDestroyPipeline)                \
    X(vkCreateDescriptorPool)           \
    X(vkDestroyDescriptorPool)          \
    X(vkResetDescriptorPool)            \
    X(vkAllocateDescriptorSets)         \
    X(vkUpdateDescriptorSets)           \
    X(vkCreateQueryPool)                \
    X(vkDestroyQueryPool)               \
    X(vkGetQueryPoolResults)

#define APRHOST_VK_DECLARE_FN(name) PFN_##name name = nullptr;

struct InstanceFns {
    APRHOST_VK_GLOBAL_FNS(APRHOST_VK_DECLARE_FN)
    APRHOST_VK_INSTANCE_FNS(APRHOST_VK_DECLARE_FN)
    APRHOST_VK_DEBUG_FNS(APRHOST_VK_DECLARE_FN)
};

struct DeviceFns {
    APRHOST_VK_DEVICE_FNS(APRHOST_VK_DECLARE_FN)
};

// The loader library. Throws nothing: ok() says whether it opened, error() why not.
class Loader {
public:
    Loader();
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    bool ok() const { return get_instance_proc_ != nullptr; }
    const std::string& error() const { return error_; }

    // Global entry points (vkCreateInstance, ...) into fns; false + error() when the loader lacks one.
    bool load_global(InstanceFns& fns);
    // Instance entry points; the debug-utils pair may stay NULL.
    bool load_instance(VkInstance instance, InstanceFns& fns);
    // Device entry points through vkGetDeviceProcAddr.
    bool load_device(const InstanceFns& ifns, VkDevice device, DeviceFns& fns);

private:
    void* lib_ = nullptr;
    PFN_vkGetInstanceProcAddr get_instance_proc_ = nullptr;
    std::string error_;
};

// "VK_ERROR_OUT_OF_DEVICE_MEMORY (-2)" etc.
std::string vk_result_name(VkResult r);

}  // namespace aprhost::vk
