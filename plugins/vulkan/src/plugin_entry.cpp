// The exported entry points of the Vulkan backend plugin.
#include "vk_backend.hpp"

#include <aprhost/plugin.hpp>

APRHOST_DECLARE_PLUGIN(BACKEND, aprhost::vk::VkBackend, "vulkan", "", "0.1.0",
                       "Vulkan backend: GLSL compute shaders (SPIR-V embedded), one command buffer per step graph")
