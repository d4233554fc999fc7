// Host ⇄ device copies on the context's stream, honouring the ABI: an upload is ordered with later graph work and
// its source may be reused as soon as buffer_upload returns; a download waits for earlier work.
//   Small uploads (the per-step token ids, positions, slots and block tables, ≤ 256 KiB) go through a ring of
//   pinned staging slots: memcpy into the slot, cudaMemcpyAsync from it, an event marks when the slot is free
//   again. No host synchronisation unless the ring wraps onto a copy still queued.
//   Large uploads (weights, once) copy from the caller's memory and wait for the copy (the source is then free).
//   Downloads copy into the caller's memory and wait, then check the context's error word.
#pragma once

#include "cuda_device.hpp"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

namespace aprhost::cuda {

class Transfers {
public:
    explicit Transfers(DeviceContext& dev);
    ~Transfers();
    Transfers(const Transfers&) = delete;
    Transfers& operator=(const Transfers&) = delete;

    void upload(void* dst_device, const void* src, uint64_t size);
    void download(void* dst, const void* src_device, uint64_t size);

    static constexpr uint64_t kSlotBytes = 256 * 1024;
    static constexpr int kSlots = 16;

private:
    void release() noexcept;

    DeviceContext& dev_;
    char* pinned_ = nullptr;  // kSlots × kSlotBytes
    std::vector<cudaEvent_t> events_;
    std::vector<bool> used_;
    int next_ = 0;
};

}  // namespace aprhost::cuda
