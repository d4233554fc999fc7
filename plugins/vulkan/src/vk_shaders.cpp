// shader(name): the SPIR-V embedded at build time (plugins/vulkan/CMakeLists.txt generates kShaderTable).
#include "vk_kernel_api.hpp"

#include <stdexcept>
#include <string>

namespace aprhost::vk {

extern const ShaderBlob kShaderTable[];
extern const size_t kShaderTableSize;

const ShaderBlob& shader(std::string_view name) {
    for (size_t i = 0; i < kShaderTableSize; ++i)
        if (kShaderTable[i].name && name == kShaderTable[i].name) return kShaderTable[i];
    throw std::runtime_error("vulkan: shader '" + std::string(name) + "' is not built into this plugin");
}

}  // namespace aprhost::vk
