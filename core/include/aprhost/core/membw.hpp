// Measures this machine's memory read bandwidth: the ceiling of memory-bound decode (tok/s ≤ bandwidth ÷
// bytes of weights read per token). Measured, never assumed: the machines we run on are shared and vary.
#pragma once

#include <cstdint>
#include <vector>

namespace aprhost::core {

struct BandwidthResult {
    double best_gb_s = 0;     // best of the repetitions (GB = 1e9 bytes)
    double median_gb_s = 0;
    uint64_t bytes = 0;       // buffer size read per repetition
    int threads = 0;
    std::vector<double> samples_gb_s;
};

// Reads a buffer of `bytes` (default 1 GiB: far beyond any cache) `repetitions` times with `threads` threads.
BandwidthResult measure_read_bandwidth(int threads, uint64_t bytes = uint64_t(1) << 30, int repetitions = 10);

}  // namespace aprhost::core
