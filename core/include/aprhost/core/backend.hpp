// RAII wrappers over a backend plugin: a context and the buffers allocated from it. Every failure becomes a
// core::Error (PLUGIN, or RESOURCE for out-of-memory) whose message names the backend.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/plugin_registry.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace aprhost::core {

class BackendContext;

// A device buffer; frees itself through the context that made it (which it keeps alive).
class Buffer {
public:
    Buffer(std::shared_ptr<BackendContext> ctx, aph_buffer_t handle, uint64_t size)
        : ctx_(std::move(ctx)), handle_(handle), size_(size) {}
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    aph_buffer_t handle() const { return handle_; }
    uint64_t size() const { return size_; }
    void upload(uint64_t offset, const void* src, uint64_t n);
    void download(uint64_t offset, void* dst, uint64_t n) const;

private:
    std::shared_ptr<BackendContext> ctx_;
    aph_buffer_t handle_;
    uint64_t size_;
};

class BackendContext : public std::enable_shared_from_this<BackendContext> {
public:
    // Creates a context of the plugin with the given plugin options.
    static std::shared_ptr<BackendContext> create(std::shared_ptr<LoadedPlugin> plugin,
                                                  const std::map<std::string, std::string>& options);
    ~BackendContext();
    BackendContext(const BackendContext&) = delete;
    BackendContext& operator=(const BackendContext&) = delete;

    const LoadedPlugin& plugin() const { return *plugin_; }
    const aph_device_info& device() const { return device_; }

    std::shared_ptr<Buffer> alloc(uint64_t size, const char* what);
    // Zero-copy wrap of host memory when the backend can; otherwise allocates and uploads a copy.
    std::shared_ptr<Buffer> import_or_upload(const void* data, uint64_t size, const char* what);
    bool can_import_host() const { return plugin_->backend().buffer_import_host != nullptr; }

    // "" when supported, else the backend's reason.
    std::string unsupported_reason(const aph_graph& graph, uint32_t node) const;
    void compute(const aph_graph& graph);
    // Computes the graph to completion and returns each node's wall time in ns as the backend measured it.
    // Throws core::Error(PLUGIN) when the backend has no graph_profile slot (see can_profile).
    std::vector<uint64_t> compute_profiled(const aph_graph& graph);
    bool can_profile() const { return plugin_->backend().graph_profile != nullptr; }
    void synchronize();
    aph_backend_stats stats() const;

    // Internal, used by Buffer.
    void upload(aph_buffer_t b, uint64_t offset, const void* src, uint64_t n);
    void download(aph_buffer_t b, uint64_t offset, void* dst, uint64_t n);
    void free_buffer(aph_buffer_t b) noexcept;

private:
    BackendContext(std::shared_ptr<LoadedPlugin> plugin, void* ctx) : plugin_(std::move(plugin)), ctx_(ctx) {}
    [[noreturn]] void fail(aph_status st, const aph_error& err, const std::string& what) const;

    std::shared_ptr<LoadedPlugin> plugin_;
    void* ctx_;
    aph_device_info device_{};
};

}  // namespace aprhost::core
