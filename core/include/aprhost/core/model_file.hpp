// A model file opened through the best-matching format plugin: its metadata (copied into core::Metadata) and
// its tensor table (pointers into the plugin's mmap, valid while this object lives).
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/metadata.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::core {

struct TensorRef {
    std::string name;
    aph_dtype dtype{};
    uint32_t n_dims = 0;
    std::array<int64_t, APH_MAX_DIMS> ne{1, 1, 1, 1};
    uint64_t size = 0;           // bytes
    const void* data = nullptr;  // host bytes owned by the format plugin's model handle
    int64_t elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    std::string shape_string() const;  // "[896, 151936]"
};

class ModelFile {
public:
    // Probes every loaded format plugin with the file's first bytes and opens it with the most confident one
    // (or the named one). Throws core::Error(BAD_INPUT) with the plugin's one-line reason.
    // format_options go to the chosen format plugin (e.g. verify=0 skips APR checksums).
    static std::unique_ptr<ModelFile> open(const PluginRegistry& registry, const std::string& path,
                                           const std::string& format_name = "",
                                           const std::map<std::string, std::string>& format_options = {});
    ~ModelFile();
    ModelFile(const ModelFile&) = delete;
    ModelFile& operator=(const ModelFile&) = delete;

    const std::string& path() const { return path_; }
    const LoadedPlugin& format_plugin() const { return *plugin_; }
    std::string container_description() const;  // plugin's describe(), or its name
    uint64_t file_size() const { return file_size_; }

    const Metadata& metadata() const { return metadata_; }
    const std::vector<TensorRef>& tensors() const { return tensors_; }
    const TensorRef* find_tensor(std::string_view name) const;

private:
    ModelFile() = default;
    std::shared_ptr<LoadedPlugin> plugin_;
    void* handle_ = nullptr;
    std::string path_;
    uint64_t file_size_ = 0;
    Metadata metadata_;
    std::vector<TensorRef> tensors_;
    std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace aprhost::core
