#include "vk_loader.hpp"

#include <dlfcn.h>

namespace aprhost::vk {

Loader::Loader() {
    // The versioned soname is what the Vulkan runtime package ships; the unversioned one only comes with -dev.
    for (const char* name : {"libvulkan.so.1", "libvulkan.so"}) {
        lib_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (lib_) break;
    }
    if (!lib_) {
        const char* e = dlerror();
        error_ = std::string("no Vulkan loader (libvulkan.so.1): ") + (e ? e : "dlopen failed");
        return;
    }
    get_instance_proc_ = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib_, "vkGetInstanceProcAddr"));
    if (!get_instance_proc_) error_ = "the Vulkan loader exports no vkGetInstanceProcAddr";
}

Loader::~Loader() {
    if (lib_) dlclose(lib_);
}

bool Loader::load_global(InstanceFns& fns) {
    if (!ok()) return false;
#define APRHOST_VK_LOAD_GLOBAL(name) \
    fns.name = reinterpret_cast<PFN_##name>(get_instance_proc_(VK_NULL_HANDLE, #name));
    APRHOST_VK_GLOBAL_FNS(APRHOST_VK_LOAD_GLOBAL)
#undef APRHOST_VK_LOAD_GLOBAL
    if (!fns.vkCreateInstance || !fns.vkEnumerateInstanceLayerProperties || !fns.vkEnumerateInstanceExtensionProperties) {
        error_ = "the Vulkan loader lacks vkCreateInstance";
        return false;
    }
    return true;
}

bool Loader::load_instance(VkInstance instance, InstanceFns& fns) {
#define APRHOST_VK_LOAD_INSTANCE(name)                                                    \
    fns.name = reinterpret_cast<PFN_##name>(get_instance_proc_(instance, #name));         \
    if (!fns.name) {                                                                      \
        error_ = "the Vulkan instance lacks " #name " (Vulkan 1.1+ required)";            \
        return false;                                                                     \
    }
    APRHOST_VK_INSTANCE_FNS(APRHOST_VK_LOAD_INSTANCE)
#undef APRHOST_VK_LOAD_INSTANCE
#define APRHOST_VK_LOAD_OPTIONAL(name) fns.name = reinterpret_cast<PFN_##name>(get_instance_proc_(instance, #name));
    APRHOST_VK_DEBUG_FNS(APRHOST_VK_LOAD_OPTIONAL)
#undef APRHOST_VK_LOAD_OPTIONAL
    return true;
}

bool Loader::load_device(const InstanceFns& ifns, VkDevice device, DeviceFns& fns) {
#define APRHOST_VK_LOAD_DEVICE(name)                                                  \
    fns.name = reinterpret_cast<PFN_##name>(ifns.vkGetDeviceProcAddr(device, #name)); \
    if (!fns.name) {                                                                  \
        error_ = "the Vulkan device lacks " #name;                                    \
        return false;                                                                 \
    }
    APRHOST_VK_DEVICE_FNS(APRHOST_VK_LOAD_DEVICE)
#undef APRHOST_VK_LOAD_DEVICE
    return true;
}

std::string vk_result_name(VkResult r) {
    const char* n = "VkResult";
    switch (r) {
        case VK_SUCCESS: n = "VK_SUCCESS"; break;
        case VK_NOT_READY: n = "VK_NOT_READY"; break;
        case VK_TIMEOUT: n = "VK_TIMEOUT"; break;
        case VK_INCOMPLETE: n = "VK_INCOMPLETE"; break;
        case VK_ERROR_OUT_OF_HOST_MEMORY: n = "VK_ERROR_OUT_OF_HOST_MEMORY"; break;
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: n = "VK_ERROR_OUT_OF_DEVICE_MEMORY"; break;
        case VK_ERROR_INITIALIZATION_FAILED: n = "VK_ERROR_INITIALIZATION_FAILED"; break;
        case VK_ERROR_DEVICE_LOST: n = "VK_ERROR_DEVICE_LOST"; break;
        case VK_ERROR_MEMORY_MAP_FAILED: n = "VK_ERROR_MEMORY_MAP_FAILED"; break;
        case VK_ERROR_LAYER_NOT_PRESENT: n = "VK_ERROR_LAYER_NOT_PRESENT"; break;
        case VK_ERROR_EXTENSION_NOT_PRESENT: n = "VK_ERROR_EXTENSION_NOT_PRESENT"; break;
        case VK_ERROR_FEATURE_NOT_PRESENT: n = "VK_ERROR_FEATURE_NOT_PRESENT"; break;
        case VK_ERROR_INCOMPATIBLE_DRIVER: n = "VK_ERROR_INCOMPATIBLE_DRIVER"; break;
        case VK_ERROR_TOO_MANY_OBJECTS: n = "VK_ERROR_TOO_MANY_OBJECTS"; break;
        case VK_ERROR_FORMAT_NOT_SUPPORTED: n = "VK_ERROR_FORMAT_NOT_SUPPORTED"; break;
        case VK_ERROR_FRAGMENTED_POOL: n = "VK_ERROR_FRAGMENTED_POOL"; break;
        case VK_ERROR_OUT_OF_POOL_MEMORY: n = "VK_ERROR_OUT_OF_POOL_MEMORY"; break;
        default: break;
    }
    return std::string(n) + " (" + std::to_string(static_cast<int>(r)) + ")";
}

}  // namespace aprhost::vk
