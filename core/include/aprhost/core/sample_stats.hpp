// Summary statistics of measured samples (timings, throughputs) for the benchmarking tools: mean, median,
// min/max, sample standard deviation, coefficient of variation and percentiles.
#pragma once

#include <cstddef>
#include <vector>

namespace aprhost::core {

struct SampleSummary {
    size_t n = 0;
    double mean = 0, median = 0, min = 0, max = 0;
    double stddev = 0;  // sample standard deviation (n - 1); 0 for fewer than 2 samples
    double cv_pct = 0;  // 100 · stddev / |mean|; 0 when the mean is 0
    double p50 = 0, p95 = 0, p99 = 0;
};

// Percentile q in [0, 100] with linear interpolation between closest ranks (numpy's default); 0 when empty.
double percentile(std::vector<double> samples, double q);
SampleSummary summarize(const std::vector<double>& samples);

}  // namespace aprhost::core
