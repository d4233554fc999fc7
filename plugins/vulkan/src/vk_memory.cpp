#include "vk_memory.hpp"

#include <aprhost/plugin.hpp>

#include <algorithm>
#include <cstring>
#include <string>

namespace aprhost::vk {

namespace {

constexpr VkMemoryPropertyFlags kHostCoherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

Memory::Memory(Device& dev, bool force_staging) : dev_(dev) {
    const auto type = dev_.physical().type;
    // Mapping device-local memory pays off where it is the same RAM (CPU implementations, integrated GPUs); on a
    // discrete GPU a host-visible device-local type is a small BAR window with slow reads.
    if (!force_staging && (type == VK_PHYSICAL_DEVICE_TYPE_CPU || type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU)) {
        const auto& mp = dev_.memory_properties();
        for (uint32_t i = 0; i < mp.memoryTypeCount; ++i) {
            const auto f = mp.memoryTypes[i].propertyFlags;
            if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & kHostCoherent) == kHostCoherent) unified_ = true;
        }
    }
    const DeviceFns& f = dev_.fns();
    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = dev_.queue_family();
    Device::check(f.vkCreateCommandPool(dev_.handle(), &pci, nullptr, &pool_), "vkCreateCommandPool (transfers)");
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    Device::check(f.vkAllocateCommandBuffers(dev_.handle(), &ai, &cmd_), "vkAllocateCommandBuffers (transfers)");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    Device::check(f.vkCreateFence(dev_.handle(), &fci, nullptr, &fence_), "vkCreateFence (transfers)");
}

Memory::~Memory() {
    destroy(upload_staging_);
    destroy(readback_staging_);
    const DeviceFns& f = dev_.fns();
    if (fence_) f.vkDestroyFence(dev_.handle(), fence_, nullptr);
    if (pool_) f.vkDestroyCommandPool(dev_.handle(), pool_, nullptr);
}

uint32_t Memory::memory_type(uint32_t type_bits, MemKind kind) const {
    const auto& mp = dev_.memory_properties();
    // Candidate property sets in order of preference.
    std::vector<VkMemoryPropertyFlags> wants;
    switch (kind) {
        case MemKind::DEVICE:
            if (unified_) wants.push_back(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | kHostCoherent);
            wants.push_back(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
            wants.push_back(0);
            break;
        case MemKind::HOST_UPLOAD: wants.push_back(kHostCoherent); break;
        case MemKind::HOST_READBACK:
            wants.push_back(kHostCoherent | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
            wants.push_back(kHostCoherent);
            break;
    }
    for (VkMemoryPropertyFlags want : wants)
        for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
            if ((type_bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return i;
    throw sdk::Error(APH_STATUS_DEVICE, "no suitable Vulkan memory type");
}

VkBuf* Memory::create(uint64_t size, MemKind kind) {
    const DeviceFns& f = dev_.fns();
    auto b = std::make_unique<VkBuf>();
    b->size = size;
    b->alloc_size = round_up(std::max<uint64_t>(size, 16), 16);
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = b->alloc_size;
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkResult r = f.vkCreateBuffer(dev_.handle(), &bci, nullptr, &b->buffer);
    if (r != VK_SUCCESS)
        throw sdk::Error(APH_STATUS_OUT_OF_MEMORY, "vkCreateBuffer of " + std::to_string(size) + " bytes failed: " + vk_result_name(r));
    VkMemoryRequirements req{};
    f.vkGetBufferMemoryRequirements(dev_.handle(), b->buffer, &req);
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    try {
        mai.memoryTypeIndex = memory_type(req.memoryTypeBits, kind);
    } catch (...) {
        f.vkDestroyBuffer(dev_.handle(), b->buffer, nullptr);
        throw;
    }
    r = f.vkAllocateMemory(dev_.handle(), &mai, nullptr, &b->memory);
    if (r != VK_SUCCESS) {
        f.vkDestroyBuffer(dev_.handle(), b->buffer, nullptr);
        throw sdk::Error(APH_STATUS_OUT_OF_MEMORY, "vkAllocateMemory of " + std::to_string(req.size) + " bytes failed: " + vk_result_name(r));
    }
    f.vkBindBufferMemory(dev_.handle(), b->buffer, b->memory, 0);
    const auto flags = dev_.memory_properties().memoryTypes[mai.memoryTypeIndex].propertyFlags;
    if ((flags & kHostCoherent) == kHostCoherent) {
        void* p = nullptr;
        if (f.vkMapMemory(dev_.handle(), b->memory, 0, VK_WHOLE_SIZE, 0, &p) == VK_SUCCESS) b->mapped = static_cast<uint8_t*>(p);
    }
    // Only unified devices may keep a mapping of DEVICE memory for transfers (see the header).
    if (kind == MemKind::DEVICE && !unified_ && b->mapped) {
        f.vkUnmapMemory(dev_.handle(), b->memory);
        b->mapped = nullptr;
    }
    return b.release();
}

void Memory::destroy(VkBuf* b) noexcept {
    if (!b) return;
    const DeviceFns& f = dev_.fns();
    if (b->mapped) f.vkUnmapMemory(dev_.handle(), b->memory);
    f.vkDestroyBuffer(dev_.handle(), b->buffer, nullptr);
    f.vkFreeMemory(dev_.handle(), b->memory, nullptr);
    delete b;
}

VkBuf* Memory::staging(MemKind kind, uint64_t n) {
    VkBuf*& s = kind == MemKind::HOST_UPLOAD ? upload_staging_ : readback_staging_;
    if (!s || s->size < n) {
        destroy(s);
        s = nullptr;
        s = create(std::min(kStagingMax, std::max<uint64_t>(n, 1ull << 20)), kind);
        if (!s->mapped) throw sdk::Error(APH_STATUS_DEVICE, "staging memory could not be mapped");
    }
    return s;
}

void Memory::copy_buffer(VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t n) {
    const DeviceFns& f = dev_.fns();
    Device::check(f.vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    Device::check(f.vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
    VkBufferCopy region{src_off, dst_off, n};
    f.vkCmdCopyBuffer(cmd_, src, dst, 1, &region);
    Device::check(f.vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd_;
    Device::check(f.vkResetFences(dev_.handle(), 1, &fence_), "vkResetFences");
    Device::check(f.vkQueueSubmit(dev_.queue(), 1, &si, fence_), "vkQueueSubmit (transfer)");
    Device::check(f.vkWaitForFences(dev_.handle(), 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences (transfer)");
}

void Memory::upload(VkBuf* dst, uint64_t offset, const void* src, uint64_t n) {
    if (n == 0) return;
    if (dst->mapped) {
        std::memcpy(dst->mapped + offset, src, n);
        return;
    }
    const auto* p = static_cast<const uint8_t*>(src);
    for (uint64_t done = 0; done < n;) {
        const uint64_t chunk = std::min(n - done, kStagingMax);
        VkBuf* s = staging(MemKind::HOST_UPLOAD, chunk);
        std::memcpy(s->mapped, p + done, chunk);
        copy_buffer(s->buffer, 0, dst->buffer, offset + done, chunk);
        done += chunk;
    }
}

void Memory::download(VkBuf* src, uint64_t offset, void* dst, uint64_t n) {
    if (n == 0) return;
    if (src->mapped) {
        std::memcpy(dst, src->mapped + offset, n);
        return;
    }
    auto* p = static_cast<uint8_t*>(dst);
    for (uint64_t done = 0; done < n;) {
        const uint64_t chunk = std::min(n - done, kStagingMax);
        VkBuf* s = staging(MemKind::HOST_READBACK, chunk);
        copy_buffer(src->buffer, offset + done, s->buffer, 0, chunk);
        std::memcpy(p + done, s->mapped, chunk);
        done += chunk;
    }
}

// ------------------------------------------------------------------------------------------------ Arena

Arena::Arena(Memory& mem, MemKind kind, uint64_t alignment, uint64_t initial)
    : mem_(mem), kind_(kind), align_(std::max<uint64_t>(alignment, 16)), initial_(initial) {}

Arena::~Arena() {
    for (VkBuf* c : chunks_) mem_.destroy(c);
}

Arena::Slice Arena::alloc(uint64_t bytes) {
    bytes = round_up(std::max<uint64_t>(bytes, 16), align_);
    if (chunks_.empty() || used_ + bytes > chunks_.back()->size) {
        const uint64_t cap = chunks_.empty() ? initial_ : chunks_.back()->size * 2;
        chunks_.push_back(mem_.create(std::max(cap, bytes), kind_));
        used_ = 0;
    }
    Slice s{chunks_.back(), used_};
    used_ += bytes;
    total_used_ += bytes;
    return s;
}

void Arena::reset() {
    if (chunks_.size() > 1) {
        // It had to grow: next time one chunk holds everything the last graph needed.
        uint64_t total = 0;
        for (VkBuf* c : chunks_) {
            total += c->size;
            mem_.destroy(c);
        }
        chunks_.clear();
        chunks_.push_back(mem_.create(std::max(total, total_used_), kind_));
    }
    used_ = 0;
    total_used_ = 0;
}

uint64_t Arena::capacity() const {
    uint64_t c = 0;
    for (VkBuf* b : chunks_) c += b->size;
    return c;
}

}  // namespace aprhost::vk
