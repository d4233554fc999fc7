// A persistent worker pool for one backend context: created once, reused for every op (no thread creation per
// op). The calling thread is worker 0 and always takes part.
//
// Work is a range of items cut into chunks that threads claim through an atomic counter. A dispatch is "closed"
// as soon as the caller finds no chunk left: workers that have not joined by then (asleep, or not scheduled by a
// busy OS) simply skip it, and the caller waits only for workers that did join and are finishing a chunk. So a
// late worker costs throughput, never a stall of a scheduler tick per op.
// Idle workers spin for `spin_us` microseconds (consecutive ops of a step arrive within microseconds), then sleep
// on an atomic wait until the next dispatch.
//
// Determinism: the pool only decides WHO computes an item; kernels must not let that change the arithmetic.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <type_traits>
#include <vector>

namespace aprhost::cpu {

class ThreadPool {
public:
    // n_threads ≥ 1 counts the calling thread; n_threads − 1 workers are started here.
    ThreadPool(int n_threads, int spin_us);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(ith, begin, end) for chunks [begin, end) of [0, n_items) of at most `chunk` items, on the calling
    // thread (ith 0) and up to max_threads − 1 workers (ith = their index, unique among concurrent calls, so it can
    // pick per-thread scratch). Returns when every item is done; rethrows the first exception fn threw.
    template <class F>
    void parallel_for(int64_t n_items, int64_t chunk, int max_threads, F&& fn) {
        using Fn = std::remove_reference_t<F>;
        if (n_items <= 0) return;
        if (chunk < 1) chunk = 1;
        if (max_threads <= 1 || n_threads_ == 1 || n_items <= chunk) {
            for (int64_t b = 0; b < n_items; b += chunk) fn(0, b, b + chunk < n_items ? b + chunk : n_items);
            return;
        }
        auto tramp = [](void* p, int ith, int64_t b, int64_t e) { (*static_cast<Fn*>(p))(ith, b, e); };
        dispatch(n_items, chunk, max_threads, tramp, const_cast<void*>(static_cast<const void*>(&fn)));
    }

private:
    using JobFn = void (*)(void*, int, int64_t, int64_t);
    void dispatch(int64_t n_items, int64_t chunk, int max_threads, JobFn fn, void* arg);
    void work(int ith) noexcept;  // claims and runs chunks until none is left
    bool try_join(uint32_t& last_gen);
    void worker_main(int index);

    // state_: [63:32] dispatch generation · [31] closed · [30:16] max workers · [15:0] workers running.
    static constexpr uint64_t kClosed = uint64_t{1} << 31;
    static constexpr uint64_t kRunningMask = 0xFFFF;

    const int n_threads_;
    const int spin_us_;
    std::vector<std::thread> workers_;

    // Job of the current dispatch; written by the caller before it publishes the new state_.
    JobFn job_fn_ = nullptr;
    void* job_arg_ = nullptr;
    int64_t n_items_ = 0;
    int64_t chunk_ = 1;
    uint32_t generation_ = 0;  // caller-side copy

    alignas(64) std::atomic<uint64_t> state_{0};
    alignas(64) std::atomic<int64_t> next_chunk_{0};
    alignas(64) std::atomic<uint32_t> wake_{0};      // bumped per dispatch; sleeping workers wait on it
    alignas(64) std::atomic<uint32_t> sleepers_{0};  // workers blocked in wake_.wait
    std::atomic<bool> stop_{false};
    std::atomic<bool> failed_{false};
    std::exception_ptr error_;
};

}  // namespace aprhost::cpu
