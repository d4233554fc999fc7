#include <aprhost/core/sample_stats.hpp>

#include <algorithm>
#include <cmath>

namespace aprhost::core {

namespace {
double percentile_sorted(const std::vector<double>& s, double q) {
    if (s.empty()) return 0;
    double pos = std::clamp(q, 0.0, 100.0) / 100.0 * double(s.size() - 1);
    size_t lo = size_t(std::floor(pos));
    size_t hi = std::min(lo + 1, s.size() - 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - double(lo));
}
}  // namespace

double percentile(std::vector<double> samples, double q) {
    std::sort(samples.begin(), samples.end());
    return percentile_sorted(samples, q);
}

SampleSummary summarize(const std::vector<double>& samples) {
    SampleSummary r;
    r.n = samples.size();
    if (samples.empty()) return r;
    std::vector<double> s = samples;
    std::sort(s.begin(), s.end());
    double sum = 0;
    for (double v : s) sum += v;
    r.mean = sum / double(s.size());
    r.min = s.front();
    r.max = s.back();
    r.median = r.p50 = percentile_sorted(s, 50);
    r.p95 = percentile_sorted(s, 95);
    r.p99 = percentile_sorted(s, 99);
    if (s.size() > 1) {
        double ss = 0;
        for (double v : s) ss += (v - r.mean) * (v - r.mean);
        r.stddev = std::sqrt(ss / double(s.size() - 1));
    }
    r.cv_pct = r.mean != 0 ? 100.0 * r.stddev / std::fabs(r.mean) : 0;
    return r;
}

}  // namespace aprhost::core
