// The cpu backend's ThreadPool (plugins/cpu_avx2/src/thread_pool.cpp, compiled into this test): every item is
// processed exactly once, for many back-to-back dispatches, with sleeping (spin_us = 0) and spinning workers,
// more threads than cores, uneven items, and exceptions.
#include "thread_pool.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using aprhost::cpu::ThreadPool;

TEST_CASE("ThreadPool::parallel_for covers every item exactly once", "[cpu][thread_pool]") {
    for (int threads : {1, 2, 3, 5}) {
        for (int spin : {0, 200}) {
            ThreadPool pool(threads, spin);
            REQUIRE(pool.size() == threads);
            std::vector<std::atomic<int>> hits(1000);
            std::atomic<int> bad_ith{0};
            for (int round = 0; round < 300; ++round) {
                const int64_t n = 1 + (round * 37) % 1000, chunk = 1 + round % 17;
                for (auto& h : hits) h.store(0, std::memory_order_relaxed);
                pool.parallel_for(n, chunk, threads, [&](int ith, int64_t b, int64_t e) {
                    if (ith < 0 || ith >= threads || e - b > chunk) bad_ith.fetch_add(1);
                    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed);
                });
                int wrong = 0;
                for (int64_t i = 0; i < 1000; ++i) wrong += hits[static_cast<size_t>(i)].load() != (i < n ? 1 : 0);
                INFO("threads=" << threads << " spin=" << spin << " round=" << round);
                REQUIRE(wrong == 0);
            }
            CHECK(bad_ith.load() == 0);
        }
    }
}

TEST_CASE("ThreadPool runs chunks concurrently and gives each thread its own ith", "[cpu][thread_pool]") {
    ThreadPool pool(2, 100000);
    // Two slow chunks: with a worker awake they overlap; either way each ith is used by one thread at a time.
    std::atomic<int> in_ith[2] = {0, 0};
    std::atomic<int> overlap_same_ith{0};
    for (int round = 0; round < 50; ++round) {
        pool.parallel_for(8, 1, 2, [&](int ith, int64_t, int64_t) {
            if (in_ith[ith].fetch_add(1) != 0) overlap_same_ith.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::microseconds(50));
            in_ith[ith].fetch_sub(1);
        });
    }
    CHECK(overlap_same_ith.load() == 0);
}

TEST_CASE("ThreadPool rethrows the first exception and stays usable", "[cpu][thread_pool]") {
    ThreadPool pool(3, 50);
    CHECK_THROWS_AS(pool.parallel_for(100, 1, 3,
                                      [](int, int64_t b, int64_t) {
                                          if (b == 42) throw std::runtime_error("item 42");
                                      }),
                    std::runtime_error);
    std::atomic<int64_t> sum{0};
    pool.parallel_for(100, 3, 3, [&](int, int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum.fetch_add(i);
    });
    CHECK(sum.load() == 4950);
}
