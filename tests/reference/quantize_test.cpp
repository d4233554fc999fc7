// Tests of aprhost/reference/quantize.hpp: exactly representable inputs come back exactly, random inputs come back
// within each type's worst-case error bound (derived in the comments), zero blocks stay zero, errors throw.
#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/quantize.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

using namespace aprhost::ref;

namespace {

// Quantize then dequantize n floats through dtype.
std::vector<float> round_trip(uint32_t dtype, const std::vector<float>& x) {
    const auto n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> packed(row_bytes(dtype, n) + 1);
    quantize_row(dtype, x.data(), packed.data() + 1, n);  // +1: the quantizer must cope with unaligned output
    std::vector<float> y(x.size());
    dequantize_row(dtype, packed.data() + 1, y.data(), n);
    return y;
}

// Test data: Gaussian values with a few large outliers and some blocks of one sign or tiny magnitude, so that
// scales, mins and clipping are all exercised.
std::vector<float> test_data(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int64_t block = i / 256;
        float v = normal(rng);
        if (block % 4 == 1) {
            v = std::fabs(v) + 0.5f;  // all positive: non-zero minimum
        } else if (block % 4 == 2) {
            v = -std::fabs(v) * 1e-3f;  // all negative, small
        }
        if (rng() % 97 == 0) {
            v *= 8.0f;  // outlier
        }
        x[static_cast<size_t>(i)] = v;
    }
    return x;
}

struct Range {
    float lo, hi, amax;
};
Range range_of(const float* x, int n) {
    Range r{x[0], x[0], 0.0f};
    for (int i = 0; i < n; ++i) {
        r.lo = std::min(r.lo, x[i]);
        r.hi = std::max(r.hi, x[i]);
        r.amax = std::max(r.amax, std::fabs(x[i]));
    }
    return r;
}

double nmse(const std::vector<float>& x, const std::vector<float>& y) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
        den += double(x[i]) * x[i];
    }
    return num / den;
}

constexpr int64_t kN = 256 * 64;

}  // namespace

TEST_CASE("exactly representable blocks round-trip exactly", "[quantize]") {
    std::vector<float> x(32);
    SECTION("q8_0") {
        for (int i = 0; i < 32; ++i) x[i] = 0.5f * float(i * 8 - 127);  // amax 63.5 = 127 · 0.5
        CHECK(round_trip(APH_DTYPE_Q8_0, x) == x);
    }
    SECTION("q4_0") {
        for (int i = 0; i < 32; ++i) x[i] = 0.5f * float(i % 16 - 8);  // −4 (code 0) is the largest magnitude
        CHECK(round_trip(APH_DTYPE_Q4_0, x) == x);
    }
    SECTION("q5_0") {
        for (int i = 0; i < 32; ++i) x[i] = 0.25f * float((i * 7) % 32 - 16);
        CHECK(round_trip(APH_DTYPE_Q5_0, x) == x);
    }
    SECTION("q4_1") {
        for (int i = 0; i < 32; ++i) x[i] = -1.0f + 0.25f * float((i * 3) % 16);
        CHECK(round_trip(APH_DTYPE_Q4_1, x) == x);
    }
    SECTION("q5_1") {
        for (int i = 0; i < 32; ++i) x[i] = 2.0f + 0.5f * float((i * 5) % 32);
        CHECK(round_trip(APH_DTYPE_Q5_1, x) == x);
    }
    SECTION("f16 and bf16") {
        for (int i = 0; i < 32; ++i) x[i] = float(i - 16) * 0.125f;
        CHECK(round_trip(APH_DTYPE_F16, x) == x);
        CHECK(round_trip(APH_DTYPE_BF16, x) == x);
        CHECK(round_trip(APH_DTYPE_F32, x) == x);
    }
}

TEST_CASE("f16/bf16 quantize rounds to nearest even", "[quantize]") {
    const std::vector<float> x = {1.0f + std::ldexp(1.0f, -11), 1.0f + 3.0f * std::ldexp(1.0f, -11)};
    uint16_t h[2];
    quantize_row(APH_DTYPE_F16, x.data(), h, 2);
    CHECK(h[0] == 0x3C00);
    CHECK(h[1] == 0x3C02);
}

TEST_CASE("q8_K stores d, codes and bsums", "[quantize]") {
    std::vector<float> x(512);
    for (int i = 0; i < 512; ++i) x[i] = float(i % 255 - 127);  // amax 127 → d = 1 exactly
    block_q8_K b[2];
    quantize_row(APH_DTYPE_Q8_K, x.data(), b, 512);
    CHECK(b[0].d == 1.0f);
    for (int blk = 0; blk < 2; ++blk) {
        for (int i = 0; i < 256; ++i) {
            REQUIRE(b[blk].qs[i] == int(x[blk * 256 + i]));
        }
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) sum += int(x[blk * 256 + 16 * g + i]);
            REQUIRE(b[blk].bsums[g] == sum);
        }
    }
    CHECK(round_trip(APH_DTYPE_Q8_K, x) == x);
}

TEST_CASE("the full code range is used", "[quantize]") {
    // The largest-magnitude value maps to the most negative code of Q4_0/Q5_0/Q6_K, so kernels see code 0.
    const auto x = test_data(256, 3);
    block_q4_0 b4[8];
    quantize_row(APH_DTYPE_Q4_0, x.data(), b4, 256);
    bool saw_zero_code = false;
    for (const auto& b : b4)
        for (uint8_t q : b.qs) saw_zero_code = saw_zero_code || (q & 0x0F) == 0 || (q >> 4) == 0;
    CHECK(saw_zero_code);
    block_q6_K b6;
    quantize_row(APH_DTYPE_Q6_K, x.data(), &b6, 256);
    bool saw_q6_zero = false;
    for (int e = 0; e < 32; ++e) saw_q6_zero = saw_q6_zero || ((b6.ql[e] & 0x0F) == 0 && (b6.qh[e] & 3) == 0);
    CHECK(saw_q6_zero);
}

TEST_CASE("per-element error stays within each type's bound", "[quantize]") {
    const auto x = test_data(kN, 42);

    SECTION("q8_0: ≤ d/2, d = amax/127 (f16-rounded d moves it by < 0.1 %)") {
        const auto y = round_trip(APH_DTYPE_Q8_0, x);
        for (int64_t b = 0; b < kN / 32; ++b) {
            const auto r = range_of(&x[b * 32], 32);
            for (int i = 0; i < 32; ++i) REQUIRE(std::fabs(y[b * 32 + i] - x[b * 32 + i]) <= 0.501f * r.amax / 127);
        }
        CHECK(nmse(x, y) < 1e-4);
    }
    SECTION("q4_0: ≤ d = amax/8 (the value opposite the max is clipped by at most one step)") {
        const auto y = round_trip(APH_DTYPE_Q4_0, x);
        for (int64_t b = 0; b < kN / 32; ++b) {
            const auto r = range_of(&x[b * 32], 32);
            for (int i = 0; i < 32; ++i) REQUIRE(std::fabs(y[b * 32 + i] - x[b * 32 + i]) <= 1.001f * r.amax / 8);
        }
        CHECK(nmse(x, y) < 3e-2);  // the outliers inflate the scales of their blocks
    }
    SECTION("q5_0: ≤ d = amax/16") {
        const auto y = round_trip(APH_DTYPE_Q5_0, x);
        for (int64_t b = 0; b < kN / 32; ++b) {
            const auto r = range_of(&x[b * 32], 32);
            for (int i = 0; i < 32; ++i) REQUIRE(std::fabs(y[b * 32 + i] - x[b * 32 + i]) <= 1.001f * r.amax / 16);
        }
        CHECK(nmse(x, y) < 7e-3);
    }
    SECTION("q4_1 / q5_1: ≤ d/2, d = (max − min)/levels, plus the f16 rounding of m") {
        for (auto [dtype, levels] : {std::pair{APH_DTYPE_Q4_1, 15.0f}, std::pair{APH_DTYPE_Q5_1, 31.0f}}) {
            const auto y = round_trip(dtype, x);
            for (int64_t b = 0; b < kN / 32; ++b) {
                const auto r = range_of(&x[b * 32], 32);
                const float bound = 0.501f * (r.hi - r.lo) / levels + std::fabs(r.lo) * 1e-3f;
                for (int i = 0; i < 32; ++i) REQUIRE(std::fabs(y[b * 32 + i] - x[b * 32 + i]) <= bound);
            }
            CHECK(nmse(x, y) < (levels < 20 ? 1e-2 : 3e-3));
        }
    }
    SECTION("q4_K / q5_K: ≤ max(step, dmin)/2; step ≤ range/levels + d, d = max step/63, dmin = max min/63") {
        for (auto [dtype, levels] : {std::pair{APH_DTYPE_Q4_K, 15.0f}, std::pair{APH_DTYPE_Q5_K, 31.0f}}) {
            const auto y = round_trip(dtype, x);
            for (int64_t b = 0; b < kN / 256; ++b) {
                const float* xb = &x[b * 256];
                float max_step = 0.0f, max_min = 0.0f;
                for (int s = 0; s < 8; ++s) {
                    const auto r = range_of(xb + 32 * s, 32);
                    max_step = std::max(max_step, (r.hi - std::min(r.lo, 0.0f)) / levels);
                    max_min = std::max(max_min, -std::min(r.lo, 0.0f));
                }
                for (int s = 0; s < 8; ++s) {
                    const auto r = range_of(xb + 32 * s, 32);
                    const float step = (r.hi - std::min(r.lo, 0.0f)) / levels + max_step / 63;
                    const float bound = 0.505f * std::max(step, max_min / 63) + 1e-6f;
                    for (int l = 0; l < 32; ++l) {
                        const int64_t e = b * 256 + 32 * s + l;
                        INFO("element " << e);
                        REQUIRE(std::fabs(y[e] - x[e]) <= bound);
                    }
                }
            }
            CHECK(nmse(x, y) < (levels < 20 ? 1.5e-2 : 4e-3));
        }
    }
    SECTION("q6_K: ≤ step + 16·d; step = amax/32 per 16, d = max step/127 (int8 scale rounding)") {
        const auto y = round_trip(APH_DTYPE_Q6_K, x);
        for (int64_t b = 0; b < kN / 256; ++b) {
            const float* xb = &x[b * 256];
            float max_step = 0.0f;
            for (int s = 0; s < 16; ++s) max_step = std::max(max_step, range_of(xb + 16 * s, 16).amax / 32);
            for (int s = 0; s < 16; ++s) {
                const float bound = 1.01f * (range_of(xb + 16 * s, 16).amax / 32 + 16 * max_step / 127);
                for (int l = 0; l < 16; ++l) {
                    const int64_t e = b * 256 + 16 * s + l;
                    REQUIRE(std::fabs(y[e] - x[e]) <= bound);
                }
            }
        }
        CHECK(nmse(x, y) < 1.5e-3);
    }
    SECTION("q8_K: ≤ d/2, d = amax/127 in f32") {
        const auto y = round_trip(APH_DTYPE_Q8_K, x);
        for (int64_t b = 0; b < kN / 256; ++b) {
            const auto r = range_of(&x[b * 256], 256);
            for (int i = 0; i < 256; ++i) {
                REQUIRE(std::fabs(y[b * 256 + i] - x[b * 256 + i]) <= 0.5001f * r.amax / 127);
            }
        }
    }
    SECTION("f16 / bf16: relative error ≤ 2^-11 / 2^-8") {
        const auto h = round_trip(APH_DTYPE_F16, x);
        const auto bf = round_trip(APH_DTYPE_BF16, x);
        for (int64_t i = 0; i < kN; ++i) {
            REQUIRE(std::fabs(h[i] - x[i]) <= std::fabs(x[i]) * std::ldexp(1.0f, -11) + std::ldexp(1.0f, -25));
            REQUIRE(std::fabs(bf[i] - x[i]) <= std::fabs(x[i]) * std::ldexp(1.0f, -8));
        }
    }
}

TEST_CASE("zero blocks stay zero for every type", "[quantize]") {
    const std::vector<float> x(512, 0.0f);
    for (uint32_t dtype : {APH_DTYPE_F16, APH_DTYPE_BF16, APH_DTYPE_Q4_0, APH_DTYPE_Q4_1, APH_DTYPE_Q5_0,
                           APH_DTYPE_Q5_1, APH_DTYPE_Q8_0, APH_DTYPE_Q4_K, APH_DTYPE_Q5_K, APH_DTYPE_Q6_K,
                           APH_DTYPE_Q8_K}) {
        INFO("dtype " << dtype);
        const auto y = round_trip(dtype, x);
        for (float v : y) REQUIRE(v == 0.0f);
    }
}

TEST_CASE("quantize rejects bad input", "[quantize]") {
    std::vector<float> x(300, 1.0f);
    std::vector<uint8_t> out(4096);
    CHECK_THROWS_AS(quantize_row(APH_DTYPE_Q4_K, x.data(), out.data(), 300), std::invalid_argument);
    CHECK_THROWS_AS(quantize_row(APH_DTYPE_Q8_0, x.data(), out.data(), 31), std::invalid_argument);
    CHECK_THROWS_AS(quantize_row(APH_DTYPE_Q3_K, x.data(), out.data(), 256), std::invalid_argument);
    CHECK(quantize_supported(APH_DTYPE_Q6_K));
    CHECK_FALSE(quantize_supported(APH_DTYPE_Q2_K));
}
