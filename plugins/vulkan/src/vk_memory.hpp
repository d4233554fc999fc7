// Device memory of one backend context: buffers (one VkBuffer + its own VkDeviceMemory each), host ⇄ device
// transfers and the per-graph arenas.
//
// Placement: aph buffers are device-local. On a unified-memory device (CPU implementations like lavapipe,
// integrated GPUs) the device-local type is usually host-visible and coherent too: such buffers are mapped once and
// uploads/downloads are memcpy. Otherwise transfers go through a host-visible staging buffer (grown on demand, at
// most kStagingMax bytes; bigger transfers are split) and a one-shot command buffer on the compute queue.
// The caller (VkBackend) makes sure no submitted graph still uses a buffer it transfers to or from.
#pragma once

#include "vk_device.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace aprhost::vk {

enum class MemKind {
    DEVICE,       // device-local (mapped when it is also host-visible + coherent on a unified-memory device)
    HOST_UPLOAD,  // host-visible + coherent, written by the host, read by the device (staging, constants)
    HOST_READBACK // host-visible + coherent, preferably cached: read by the host (download staging)
};

struct VkBuf {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    uint64_t size = 0;        // bytes the caller asked for
    uint64_t alloc_size = 0;  // bytes of the VkBuffer (size rounded up; shaders may read whole 16-byte words)
    uint8_t* mapped = nullptr;  // host pointer when the memory is host-visible
};

class Memory {
public:
    // force_staging: transfer through staging buffers even where device memory could be mapped (option staging=1,
    // so the discrete-GPU path runs on a unified-memory device too).
    Memory(Device& dev, bool force_staging);
    ~Memory();
    Memory(const Memory&) = delete;
    Memory& operator=(const Memory&) = delete;

    // Throws sdk::Error(OUT_OF_MEMORY) when the device cannot hold it.
    VkBuf* create(uint64_t size, MemKind kind);
    void destroy(VkBuf* b) noexcept;

    void upload(VkBuf* dst, uint64_t offset, const void* src, uint64_t n);
    void download(VkBuf* src, uint64_t offset, void* dst, uint64_t n);

    // True when DEVICE buffers are host-mapped (no staging needed).
    bool unified() const { return unified_; }

    static constexpr uint64_t kStagingMax = 64ull << 20;

private:
    uint32_t memory_type(uint32_t type_bits, MemKind kind) const;
    void copy_buffer(VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t n);
    VkBuf* staging(MemKind kind, uint64_t n);

    Device& dev_;
    bool unified_ = false;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkCommandBuffer cmd_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkBuf* upload_staging_ = nullptr;
    VkBuf* readback_staging_ = nullptr;
};

// A bump allocator over buffers of one MemKind, for memory that lives until the graph that used it finished.
// alloc() never moves earlier allocations (a full chunk is kept and a new one added); reset() (only after the
// graph's fence) frees everything and, when it had to grow, replaces the chunks by one of their total size.
class Arena {
public:
    Arena(Memory& mem, MemKind kind, uint64_t alignment, uint64_t initial);
    ~Arena();
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    struct Slice {
        VkBuf* buf;
        uint64_t offset;
    };
    Slice alloc(uint64_t bytes);
    void reset();
    uint64_t capacity() const;

private:
    Memory& mem_;
    MemKind kind_;
    uint64_t align_;
    uint64_t initial_;
    std::vector<VkBuf*> chunks_;
    uint64_t used_ = 0;  // in the last chunk
    uint64_t total_used_ = 0;
};

}  // namespace aprhost::vk
