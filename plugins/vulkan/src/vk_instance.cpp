#include "vk_instance.hpp"

#include <aprhost/plugin.hpp>

#include <algorithm>
#include <cstring>

namespace aprhost::vk {

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    auto* sink = static_cast<ValidationSink*>(user);
    const std::string msg = std::string("vulkan validation: ") + (data && data->pMessage ? data->pMessage : "(no text)");
    if (sink) {
        ++sink->count;
        sdk::log(sink->host, severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? APH_LOG_ERROR : APH_LOG_WARN, msg);
        std::lock_guard<std::mutex> lock(sink->mu);
        if (sink->pending.empty()) sink->pending = msg;
    }
    return VK_FALSE;  // never abort the call that triggered it; the backend reports it on its next entry
}

std::string version_str(uint32_t v) {
    return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
           std::to_string(VK_API_VERSION_PATCH(v));
}

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
    for (auto& e : exts)
        if (std::strcmp(e.extensionName, name) == 0) return true;
    return false;
}

}  // namespace

const char* PhysicalDevice::type_name() const {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
        default: return "other";
    }
}

int PhysicalDevice::rank() const {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
        default: return 0;
    }
}

std::string PhysicalDevice::features() const {
    std::string s = "Vulkan " + version_str(api_version) + ", subgroup " + std::to_string(caps.subgroup_size);
    if (caps.subgroup_arithmetic) s += " (arithmetic)";
    if (caps.shader_float16) s += ", fp16";
    if (caps.shader_int8) s += ", int8";
    if (caps.shader_float64) s += ", fp64";
    if (storage_8bit && storage_16bit) s += ", 8/16-bit storage";
    if (caps.integer_dot_product) s += ", int-dot";
    s += ", max binding " + std::to_string(caps.max_storage_buffer_range >> 20) + " MiB";
    s += ", " + std::to_string(device_local_bytes >> 20) + " MiB";
    if (timestamp_valid_bits == 0) s += ", no timestamps";
    return s;
}

Instance::Instance(bool validation, ValidationSink* sink) {
    if (!loader_.ok()) throw sdk::Error(APH_STATUS_UNSUPPORTED, loader_.error());
    if (!loader_.load_global(fns_)) throw sdk::Error(APH_STATUS_UNSUPPORTED, loader_.error());

    uint32_t loader_version = VK_API_VERSION_1_0;
    if (fns_.vkEnumerateInstanceVersion) fns_.vkEnumerateInstanceVersion(&loader_version);
    if (loader_version < VK_API_VERSION_1_1)
        throw sdk::Error(APH_STATUS_UNSUPPORTED, "the Vulkan loader is " + version_str(loader_version) + "; 1.1+ is required");

    std::vector<const char*> layers, extensions;
    if (validation) {
        uint32_t n = 0;
        fns_.vkEnumerateInstanceLayerProperties(&n, nullptr);
        std::vector<VkLayerProperties> props(n);
        fns_.vkEnumerateInstanceLayerProperties(&n, props.data());
        const bool found = std::any_of(props.begin(), props.end(),
                                       [](const VkLayerProperties& p) { return std::strcmp(p.layerName, kValidationLayer) == 0; });
        if (!found)
            throw sdk::Error(APH_STATUS_UNSUPPORTED, std::string("validation requested but ") + kValidationLayer +
                                                         " is not installed (package vulkan-validationlayers)");
        layers.push_back(kValidationLayer);
        extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }

    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "aprhost";
    app.pEngineName = "aprhost-vulkan";
    app.apiVersion = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);

    VkDebugUtilsMessengerCreateInfoEXT dbg{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    dbg.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    dbg.pfnUserCallback = on_validation_message;
    dbg.pUserData = sink;

    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
    ci.ppEnabledLayerNames = layers.data();
    ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    ci.ppEnabledExtensionNames = extensions.data();
    if (validation) ci.pNext = &dbg;  // also covers messages of vkCreateInstance / vkDestroyInstance themselves
    const VkResult r = fns_.vkCreateInstance(&ci, nullptr, &instance_);
    if (r != VK_SUCCESS)
        throw sdk::Error(APH_STATUS_UNSUPPORTED, "vkCreateInstance failed: " + vk_result_name(r) +
                                                     (r == VK_ERROR_INCOMPATIBLE_DRIVER ? " (no Vulkan driver/ICD installed)" : ""));
    if (!loader_.load_instance(instance_, fns_)) {
        fns_.vkDestroyInstance ? fns_.vkDestroyInstance(instance_, nullptr) : void();
        instance_ = VK_NULL_HANDLE;
        throw sdk::Error(APH_STATUS_UNSUPPORTED, loader_.error());
    }
    if (validation) {
        if (!fns_.vkCreateDebugUtilsMessengerEXT ||
            fns_.vkCreateDebugUtilsMessengerEXT(instance_, &dbg, nullptr, &messenger_) != VK_SUCCESS) {
            fns_.vkDestroyInstance(instance_, nullptr);
            instance_ = VK_NULL_HANDLE;
            throw sdk::Error(APH_STATUS_DEVICE, "cannot create the validation messenger (VK_EXT_debug_utils)");
        }
    }
    enumerate();
}

Instance::~Instance() {
    if (messenger_ != VK_NULL_HANDLE && fns_.vkDestroyDebugUtilsMessengerEXT)
        fns_.vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
    if (instance_ != VK_NULL_HANDLE) fns_.vkDestroyInstance(instance_, nullptr);
}

void Instance::enumerate() {
    uint32_t n = 0;
    fns_.vkEnumeratePhysicalDevices(instance_, &n, nullptr);
    std::vector<VkPhysicalDevice> handles(n);
    if (n) fns_.vkEnumeratePhysicalDevices(instance_, &n, handles.data());
    for (uint32_t i = 0; i < n; ++i) {
        PhysicalDevice d;
        d.handle = handles[i];
        d.index = i;
        VkPhysicalDeviceProperties props{};
        fns_.vkGetPhysicalDeviceProperties(d.handle, &props);
        d.name = props.deviceName;
        d.type = props.deviceType;
        d.api_version = props.apiVersion;
        d.driver_version = props.driverVersion;
        d.timestamp_period_ns = props.limits.timestampPeriod;
        d.caps.max_storage_buffer_range = props.limits.maxStorageBufferRange;
        d.caps.min_storage_buffer_offset_alignment = std::max<uint64_t>(1, props.limits.minStorageBufferOffsetAlignment);
        d.caps.max_shared_memory = props.limits.maxComputeSharedMemorySize;
        d.caps.max_workgroup_invocations = props.limits.maxComputeWorkGroupInvocations;
        for (int k = 0; k < 3; ++k) d.caps.max_workgroup_count[k] = props.limits.maxComputeWorkGroupCount[k];
        d.caps.max_push_constants = props.limits.maxPushConstantsSize;

        if (d.api_version < VK_API_VERSION_1_2) {
            d.unusable = "device supports Vulkan " + version_str(d.api_version) + "; 1.2+ is required";
            devices_.push_back(std::move(d));
            continue;
        }

        // Properties: subgroups (1.1).
        VkPhysicalDeviceVulkan11Properties p11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES};
        VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
        p2.pNext = &p11;
        fns_.vkGetPhysicalDeviceProperties2(d.handle, &p2);
        d.caps.subgroup_size = std::max<uint32_t>(1, p11.subgroupSize);
        const bool compute_stage = (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
        d.subgroup_basic = compute_stage && (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
        d.caps.subgroup_arithmetic = d.subgroup_basic && (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);

        // Features: 8/16-bit storage, fp16/int8 arithmetic (1.1/1.2), integer dot product (1.3 or the KHR extension).
        uint32_t n_ext = 0;
        fns_.vkEnumerateDeviceExtensionProperties(d.handle, nullptr, &n_ext, nullptr);
        std::vector<VkExtensionProperties> exts(n_ext);
        if (n_ext) fns_.vkEnumerateDeviceExtensionProperties(d.handle, nullptr, &n_ext, exts.data());
        VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
        VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
        VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
        VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
        f2.pNext = &f11;
        f11.pNext = &f12;
        const bool dot_available = d.api_version >= VK_API_VERSION_1_3 ||
                                   has_extension(exts, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
        if (dot_available) f12.pNext = &dot;
        fns_.vkGetPhysicalDeviceFeatures2(d.handle, &f2);
        d.storage_16bit = f11.storageBuffer16BitAccess;
        d.storage_8bit = f12.storageBuffer8BitAccess;
        d.caps.shader_float16 = f12.shaderFloat16;
        d.caps.shader_int8 = f12.shaderInt8;
        d.caps.integer_dot_product = dot_available && dot.shaderIntegerDotProduct;
        d.shader_int16 = f2.features.shaderInt16;
        d.shader_int64 = f2.features.shaderInt64;
        d.shader_float64 = f2.features.shaderFloat64;
        d.caps.shader_float64 = d.shader_float64;

        uint32_t n_q = 0;
        fns_.vkGetPhysicalDeviceQueueFamilyProperties(d.handle, &n_q, nullptr);
        std::vector<VkQueueFamilyProperties> qf(n_q);
        fns_.vkGetPhysicalDeviceQueueFamilyProperties(d.handle, &n_q, qf.data());
        // Prefer a compute queue family that does not do graphics (dedicated compute), else any with compute.
        for (int pass = 0; pass < 2 && d.compute_queue_family == UINT32_MAX; ++pass)
            for (uint32_t q = 0; q < n_q; ++q) {
                const bool compute = qf[q].queueFlags & VK_QUEUE_COMPUTE_BIT;
                const bool graphics = qf[q].queueFlags & VK_QUEUE_GRAPHICS_BIT;
                if (compute && (pass == 1 || !graphics)) {
                    d.compute_queue_family = q;
                    d.timestamp_valid_bits = qf[q].timestampValidBits;
                    break;
                }
            }

        VkPhysicalDeviceMemoryProperties mem{};
        fns_.vkGetPhysicalDeviceMemoryProperties(d.handle, &mem);
        for (uint32_t h = 0; h < mem.memoryHeapCount; ++h)
            if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) d.device_local_bytes += mem.memoryHeaps[h].size;

        if (d.compute_queue_family == UINT32_MAX) d.unusable = "no compute queue";
        else if (!d.storage_8bit || !d.storage_16bit) d.unusable = "no storageBuffer8BitAccess/storageBuffer16BitAccess";
        else if (!d.shader_int16) d.unusable = "no shaderInt16";
        devices_.push_back(std::move(d));
    }
}

const PhysicalDevice& Instance::select(long long requested) const {
    if (devices_.empty()) throw sdk::Error(APH_STATUS_UNSUPPORTED, "no Vulkan device (vkEnumeratePhysicalDevices found none)");
    if (requested >= 0) {
        if (requested >= static_cast<long long>(devices_.size()))
            throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option device=" + std::to_string(requested) + ": only " +
                                                              std::to_string(devices_.size()) + " Vulkan device(s)");
        const PhysicalDevice& d = devices_[static_cast<size_t>(requested)];
        if (!d.unusable.empty())
            throw sdk::Error(APH_STATUS_UNSUPPORTED, "Vulkan device " + std::to_string(requested) + " (" + d.name + "): " + d.unusable);
        return d;
    }
    const PhysicalDevice* best = nullptr;
    for (auto& d : devices_)
        if (d.unusable.empty() && (!best || d.rank() > best->rank())) best = &d;
    if (!best) {
        std::string why = "no usable Vulkan device:";
        for (auto& d : devices_) why += " [" + std::to_string(d.index) + "] " + d.name + ": " + d.unusable + ";";
        throw sdk::Error(APH_STATUS_UNSUPPORTED, why);
    }
    return *best;
}

uint32_t vulkan_score(std::string& reason) {
    try {
        Instance inst(false, nullptr);
        const PhysicalDevice& best = inst.select(-1);
        reason.clear();
        for (auto& d : inst.devices()) {
            if (!reason.empty()) reason += "; ";
            // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on one long chain of +.
            reason += '[';
            reason += std::to_string(d.index);
            if (&d == &best) reason += '*';
            reason += "] ";
            reason += d.name;
            reason += " (";
            reason += d.type_name();
            reason += "): ";
            reason += d.unusable.empty() ? d.features() : "unusable: " + d.unusable;
        }
        // Ranked like the devices, so a build that only sees a CPU implementation says so in its score.
        return 10 * static_cast<uint32_t>(best.rank());
    } catch (const std::exception& e) {
        reason = e.what();
        return 0;
    }
}

}  // namespace aprhost::vk
