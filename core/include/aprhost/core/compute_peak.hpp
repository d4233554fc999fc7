// Measures this machine's floating-point peak with a short FMA loop: the compute roof of the roofline.
// Measured, never assumed (clock speeds, SMT siblings and other tenants change it).
#pragma once

#include <string>
#include <vector>

namespace aprhost::core {

struct ComputePeakResult {
    double best_gflop_s = 0;    // best repetition, all threads together (1 FMA = 2 flops)
    double median_gflop_s = 0;
    int threads = 0;
    std::string isa;            // "avx2-fma" (8-wide f32 FMA) or "scalar"
    std::vector<double> samples_gflop_s;
};

// Runs `threads` threads of independent f32 FMA chains for about `ms_per_rep` milliseconds, `repetitions` times.
ComputePeakResult measure_compute_peak(int threads, int repetitions = 5, double ms_per_rep = 20);

}  // namespace aprhost::core
