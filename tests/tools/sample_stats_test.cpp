// Summary statistics on injected samples: the CV the bench gate uses, percentiles as numpy computes them.
#include <aprhost/core/sample_stats.hpp>

#include <catch2/catch.hpp>

using aprhost::core::summarize;

TEST_CASE("summary of known samples", "[stats]") {
    auto s = summarize({2, 4, 4, 4, 5, 5, 7, 9});
    CHECK(s.n == 8);
    CHECK(s.mean == Approx(5.0));
    CHECK(s.median == Approx(4.5));
    CHECK(s.min == 2);
    CHECK(s.max == 9);
    // Sample standard deviation (n - 1): sqrt(32 / 7).
    CHECK(s.stddev == Approx(2.138089935));
    CHECK(s.cv_pct == Approx(100.0 * 2.138089935 / 5.0));
}

TEST_CASE("CV separates stable from unstable samples", "[stats]") {
    CHECK(summarize({100, 101, 99, 100, 100}).cv_pct < 1.0);
    CHECK(summarize({100, 150, 50, 130, 70}).cv_pct > 20.0);
    CHECK(summarize({7, 7, 7}).cv_pct == 0.0);
    CHECK(summarize({42}).cv_pct == 0.0);
    CHECK(summarize({}).n == 0);
}

TEST_CASE("percentiles interpolate linearly between ranks (numpy default)", "[stats]") {
    std::vector<double> v;
    for (int i = 1; i <= 100; ++i) v.push_back(i);
    auto s = summarize(v);
    CHECK(s.p50 == Approx(50.5));
    CHECK(s.p95 == Approx(95.05));
    CHECK(s.p99 == Approx(99.01));
    CHECK(aprhost::core::percentile({3, 1, 2}, 0) == 1);
    CHECK(aprhost::core::percentile({3, 1, 2}, 100) == 3);
    CHECK(aprhost::core::percentile({10, 20}, 25) == Approx(12.5));
}
