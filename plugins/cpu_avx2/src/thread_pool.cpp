#include "thread_pool.hpp"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
#endif

namespace aprhost::cpu {

namespace {

// A polite busy-wait step (SSE2 `pause`, part of baseline x86-64).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads, int spin_us) : n_threads_(n_threads < 1 ? 1 : n_threads), spin_us_(spin_us) {
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
    stop_.store(true, std::memory_order_relaxed);
    wake_.fetch_add(1, std::memory_order_seq_cst);
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::work(int ith) noexcept {
    try {
        for (;;) {
            const int64_t b = next_chunk_.fetch_add(1, std::memory_order_relaxed) * chunk_;
            if (b >= n_items_) break;
            job_fn_(job_arg_, ith, b, b + chunk_ < n_items_ ? b + chunk_ : n_items_);
        }
    } catch (...) {
        // The first failing thread records its exception; dispatch() rethrows it on the calling thread.
        if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::current_exception();
        next_chunk_.store(n_items_, std::memory_order_relaxed);  // stop handing out chunks
    }
}

void ThreadPool::dispatch(int64_t n_items, int64_t chunk, int max_threads, JobFn fn, void* arg) {
    const int max_workers = (max_threads > n_threads_ ? n_threads_ : max_threads) - 1;
    job_fn_ = fn;
    job_arg_ = arg;
    n_items_ = n_items;
    chunk_ = chunk;
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    next_chunk_.store(0, std::memory_order_relaxed);
    ++generation_;
    // Publishing the state (release) makes the job fields above visible to a worker whose join CAS reads it.
    state_.store((uint64_t{generation_} << 32) | (static_cast<uint64_t>(max_workers) << 16), std::memory_order_release);
    // seq_cst pairs with the worker's sleepers_ increment: either it sees the new wake_ or we see it asleep.
    wake_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) != 0) wake_.notify_all();

    work(0);
    // Close the dispatch; from now on only workers already inside can touch it. Wait for them.
    state_.fetch_or(kClosed, std::memory_order_acq_rel);
    for (int i = 0; (state_.load(std::memory_order_acquire) & kRunningMask) != 0; ++i) {
        if (i < 4096) cpu_relax();
        else std::this_thread::yield();
    }
    if (failed_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
}

bool ThreadPool::try_join(uint32_t& last_gen) {
    uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
        const uint32_t gen = static_cast<uint32_t>(s >> 32);
        if (gen == last_gen) return false;  // already handled (or nothing dispatched yet)
        const uint64_t running = s & kRunningMask, max_workers = (s >> 16) & 0x7FFF;
        if ((s & kClosed) || running >= max_workers) {
            last_gen = gen;  // too late, or enough helpers: skip this dispatch
            return false;
        }
        if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
            last_gen = gen;
            return true;
        }
    }
}

void ThreadPool::worker_main(int index) {
    uint32_t last_gen = 0;
    uint32_t seen = 0;
    for (;;) {
        if (stop_.load(std::memory_order_acquire)) return;
        if (try_join(last_gen)) {
            work(index);
            state_.fetch_sub(1, std::memory_order_release);
        }
        // Wait for the next dispatch: spin for spin_us (yielding now and then so an oversubscribed CPU still
        // serves the thread we are waiting for), then sleep.
        uint32_t w = wake_.load(std::memory_order_acquire);
        if (w == seen) {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
            for (int i = 1; w == seen; ++i) {
                cpu_relax();
                w = wake_.load(std::memory_order_acquire);
                if ((i & 255) == 0) {
                    if (std::chrono::steady_clock::now() >= deadline) break;
                    std::this_thread::yield();
                }
            }
            if (w == seen) {
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                while ((w = wake_.load(std::memory_order_seq_cst)) == seen) wake_.wait(seen);
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
            }
        }
        seen = w;
    }
}

}  // namespace aprhost::cpu
