#include <aprhost/core/membw.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

namespace aprhost::core {

namespace {
// Sum of 64-bit words with 8 independent accumulators so the loop is bound by loads, not by an add chain.
uint64_t sum_words(const uint64_t* p, size_t n) {
    uint64_t a[8] = {};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) a[k] += p[i + size_t(k)];
    for (; i < n; ++i) a[0] += p[i];
    uint64_t s = 0;
    for (auto v : a) s += v;
    return s;
}
}  // namespace

BandwidthResult measure_read_bandwidth(int threads, uint64_t bytes, int repetitions) {
    threads = std::max(1, threads);
    repetitions = std::max(1, repetitions);
    const size_t words = size_t(bytes / 8);
    std::unique_ptr<uint64_t[]> buf(new uint64_t[words]);
    // Touch every page (from the thread that will read it) so page faults are not measured.
    const size_t per = (words + size_t(threads) - 1) / size_t(threads);
    auto run = [&](auto&& body) {
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t) {
            size_t b = size_t(t) * per, e = std::min(words, b + per);
            ts.emplace_back([&, b, e] { body(b, e); });
        }
        for (auto& t : ts) t.join();
    };
    run([&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) buf[i] = i;
    });
    BandwidthResult r;
    r.bytes = uint64_t(words) * 8;
    r.threads = threads;
    std::atomic<uint64_t> sink{0};
    for (int rep = 0; rep < repetitions; ++rep) {
        auto t0 = std::chrono::steady_clock::now();
        run([&](size_t b, size_t e) { sink += sum_words(buf.get() + b, e - b); });
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        r.samples_gb_s.push_back(double(r.bytes) / s / 1e9);
    }
    auto sorted = r.samples_gb_s;
    std::sort(sorted.begin(), sorted.end());
    r.best_gb_s = sorted.back();
    r.median_gb_s = sorted[sorted.size() / 2];
    if (sink.load() == 42) r.best_gb_s += 0;  // keep the sums observable so the reads are not optimised away
    return r;
}

}  // namespace aprhost::core
