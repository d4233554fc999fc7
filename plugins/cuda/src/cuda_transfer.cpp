// See cuda_transfer.hpp.
#include "cuda_transfer.hpp"

#include "cuda_check.hpp"

#include <aprhost/plugin.hpp>

#include <cstring>

namespace aprhost::cuda {

namespace {

void transfer_check(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    (void)cudaGetLastError();
    throw sdk::Error(APH_STATUS_DEVICE, std::string("cuda: ") + what + " failed: " + cuda_error_text(e));
}

}  // namespace

Transfers::Transfers(DeviceContext& dev) : dev_(dev) {
    transfer_check(cudaHostAlloc(reinterpret_cast<void**>(&pinned_), kSlotBytes * kSlots, cudaHostAllocDefault),
                   "cudaHostAlloc (upload staging)");
    events_.assign(kSlots, nullptr);
    used_.assign(kSlots, false);
    for (auto& ev : events_) {
        const cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
        if (e != cudaSuccess) {
            release();
            transfer_check(e, "cudaEventCreate (upload staging)");
        }
    }
}

Transfers::~Transfers() { release(); }

void Transfers::release() noexcept {
    for (auto& ev : events_)
        if (ev) (void)cudaEventDestroy(ev);
    events_.clear();
    if (pinned_) (void)cudaFreeHost(pinned_);
    pinned_ = nullptr;
}

void Transfers::upload(void* dst_device, const void* src, uint64_t size) {
    if (size == 0) return;
    if (size > kSlotBytes) {
        transfer_check(cudaMemcpyAsync(dst_device, src, size, cudaMemcpyHostToDevice, dev_.stream()),
                       "cudaMemcpyAsync (upload)");
        // The ABI lets the caller reuse `src` on return; pageable copies need not have read it all yet.
        dev_.synchronize();
        return;
    }
    const int slot = next_;
    next_ = (next_ + 1) % kSlots;
    if (used_[slot]) transfer_check(cudaEventSynchronize(events_[slot]), "cudaEventSynchronize (upload staging)");
    char* staging = pinned_ + uint64_t(slot) * kSlotBytes;
    std::memcpy(staging, src, size);
    transfer_check(cudaMemcpyAsync(dst_device, staging, size, cudaMemcpyHostToDevice, dev_.stream()),
                   "cudaMemcpyAsync (upload)");
    transfer_check(cudaEventRecord(events_[slot], dev_.stream()), "cudaEventRecord (upload staging)");
    used_[slot] = true;
}

void Transfers::download(void* dst, const void* src_device, uint64_t size) {
    if (size > 0)
        transfer_check(cudaMemcpyAsync(dst, src_device, size, cudaMemcpyDeviceToHost, dev_.stream()),
                       "cudaMemcpyAsync (download)");
    dev_.synchronize();
}

}  // namespace aprhost::cuda
