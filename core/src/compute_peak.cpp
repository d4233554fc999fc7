#include <aprhost/core/compute_peak.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace aprhost::core {

namespace {

// 12 independent accumulators cover FMA latency (4–5 cycles) × 2 FMA ports, so the loop is throughput-bound.
constexpr int kChains = 12;

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float fma_loop_avx2(uint64_t iters, float seed) {
    __m256 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(seed + float(c));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (uint64_t i = 0; i < iters; ++i)
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    __m256 s = acc[0];
    for (int c = 1; c < kChains; ++c) s = _mm256_add_ps(s, acc[c]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}
bool have_avx2_fma() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
bool have_avx2_fma() { return false; }
#endif

float fma_loop_scalar(uint64_t iters, float seed) {
    float acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = seed + float(c);
    for (uint64_t i = 0; i < iters; ++i)
        for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * 0.999999f + 1e-7f;
    float s = 0;
    for (float v : acc) s += v;
    return s;
}

std::atomic<float> g_sink{0};  // keeps the loops' results alive

}  // namespace

ComputePeakResult measure_compute_peak(int threads, int repetitions, double ms_per_rep) {
    ComputePeakResult r;
    r.threads = std::max(1, threads);
    const bool avx2 = have_avx2_fma();
    r.isa = avx2 ? "avx2-fma" : "scalar";
    const double flops_per_iter = 2.0 * kChains * (avx2 ? 8 : 1);
    auto loop = [avx2](uint64_t iters, float seed) {
#if defined(__x86_64__)
        if (avx2) return fma_loop_avx2(iters, seed);
#endif
        return fma_loop_scalar(iters, seed);
    };
    // Calibrate the iteration count on one thread so a repetition lasts about ms_per_rep.
    uint64_t iters = 1 << 14;
    for (;;) {
        auto t0 = std::chrono::steady_clock::now();
        g_sink = g_sink + loop(iters, 1.0f);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (ms > ms_per_rep / 4 || iters > (uint64_t(1) << 34)) {
            iters = uint64_t(double(iters) * ms_per_rep / std::max(ms, 1e-3));
            break;
        }
        iters *= 4;
    }
    iters = std::max<uint64_t>(iters, 1024);
    for (int rep = 0; rep < std::max(1, repetitions); ++rep) {
        std::vector<std::thread> pool;
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        std::vector<float> out(size_t(r.threads), 0.f);
        auto t0 = std::chrono::steady_clock::now();
        for (int t = 0; t < r.threads; ++t)
            pool.emplace_back([&, t] {
                ready.fetch_add(1);
                while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
                out[size_t(t)] = loop(iters, float(t));
            });
        while (ready.load() < r.threads) std::this_thread::yield();
        t0 = std::chrono::steady_clock::now();
        go.store(true, std::memory_order_release);
        for (auto& th : pool) th.join();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (float v : out) g_sink = g_sink + v;
        r.samples_gflop_s.push_back(flops_per_iter * double(iters) * r.threads / s / 1e9);
    }
    std::vector<double> sorted = r.samples_gflop_s;
    std::sort(sorted.begin(), sorted.end());
    r.best_gflop_s = sorted.back();
    r.median_gflop_s = sorted[sorted.size() / 2];
    return r;
}

}  // namespace aprhost::core
