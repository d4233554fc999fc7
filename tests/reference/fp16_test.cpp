// Tests of aprhost/reference/fp16.hpp: exact values, rounding ties, subnormals, overflow, inf/NaN, and exhaustive
// round trips over every 16-bit pattern.
#include <aprhost/reference/fp16.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

using namespace aprhost::ref;

namespace {

float bits_to_float(uint32_t b) { return std::bit_cast<float>(b); }

}  // namespace

TEST_CASE("fp16 exact values", "[fp16]") {
    CHECK(fp32_to_fp16(0.0f) == 0x0000);
    CHECK(fp32_to_fp16(-0.0f) == 0x8000);
    CHECK(fp32_to_fp16(1.0f) == 0x3C00);
    CHECK(fp32_to_fp16(-2.0f) == 0xC000);
    CHECK(fp32_to_fp16(0.5f) == 0x3800);
    CHECK(fp32_to_fp16(65504.0f) == 0x7BFF);  // largest finite half
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
    CHECK(fp32_to_fp16(std::ldexp(1023.0f, -24)) == 0x03FF);  // largest subnormal

    CHECK(fp16_to_fp32(0x3C00) == 1.0f);
    CHECK(fp16_to_fp32(0xC000) == -2.0f);
    CHECK(fp16_to_fp32(0x7BFF) == 65504.0f);
    CHECK(fp16_to_fp32(0x0400) == std::ldexp(1.0f, -14));
    CHECK(fp16_to_fp32(0x0001) == std::ldexp(1.0f, -24));
    CHECK(fp16_to_fp32(0x03FF) == std::ldexp(1023.0f, -24));
    CHECK(fp16_to_fp32(0x8001) == -std::ldexp(1.0f, -24));
    CHECK(fp16_to_fp32(0x3555) == 0.333251953125f);
    CHECK(std::signbit(fp16_to_fp32(0x8000)));
}

TEST_CASE("fp16 rounds to nearest even", "[fp16]") {
    // 1 + 2^-11 is exactly between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
    CHECK(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);
    // 1 + 3·2^-11 is between 0x3C01 and 0x3C02: the even one wins.
    CHECK(fp32_to_fp16(1.0f + 3.0f * std::ldexp(1.0f, -11)) == 0x3C02);
    // Just above the tie rounds up.
    CHECK(fp32_to_fp16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)) == 0x3C01);
    // Subnormal ties: 2^-25 is half the smallest subnormal → 0; 3·2^-25 → 2·2^-24 (even).
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);
    CHECK(fp32_to_fp16(-std::ldexp(1.0f, -25)) == 0x8000);
    CHECK(fp32_to_fp16(std::ldexp(3.0f, -25)) == 0x0002);
    CHECK(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 0x0001);
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -30)) == 0x0000);
    // Largest subnormal + half an ulp rounds into the smallest normal.
    CHECK(fp32_to_fp16(std::ldexp(2047.0f, -25)) == 0x0400);
}

TEST_CASE("fp16 overflow, infinities and NaN", "[fp16]") {
    const float inf = std::numeric_limits<float>::infinity();
    CHECK(fp32_to_fp16(65519.0f) == 0x7BFF);  // below the tie: stays finite
    CHECK(fp32_to_fp16(65520.0f) == 0x7C00);  // the tie with 65536 rounds to even = +inf
    CHECK(fp32_to_fp16(1e10f) == 0x7C00);
    CHECK(fp32_to_fp16(-1e10f) == 0xFC00);
    CHECK(fp32_to_fp16(inf) == 0x7C00);
    CHECK(fp32_to_fp16(-inf) == 0xFC00);
    CHECK(std::isinf(fp16_to_fp32(0x7C00)));
    CHECK(fp16_to_fp32(0xFC00) == -inf);

    const uint16_t hn = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
    CHECK((hn & 0x7C00) == 0x7C00);
    CHECK((hn & 0x03FF) != 0);
    // A signalling NaN whose payload lives only in the low bits must not collapse into inf.
    const uint16_t hs = fp32_to_fp16(bits_to_float(0x7F800001u));
    CHECK((hs & 0x03FF) != 0);
    CHECK(std::isnan(fp16_to_fp32(0x7E00)));
    CHECK(std::isnan(fp16_to_fp32(0xFC01)));
}

TEST_CASE("fp16 round trips every half bit pattern", "[fp16]") {
    int nan_count = 0;
    for (uint32_t h = 0; h <= 0xFFFF; ++h) {
        const float f = fp16_to_fp32(static_cast<uint16_t>(h));
        if (std::isnan(f)) {
            ++nan_count;
            REQUIRE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
            continue;
        }
        REQUIRE(fp32_to_fp16(f) == h);
    }
    CHECK(nan_count == 2 * 1023);
}

TEST_CASE("fp16 rounding is monotone and within half an ulp", "[fp16]") {
    // Every finite value in range converts to one of the two neighbouring halves, the nearer one.
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> mag(-30.0f, 15.9f);
    for (int i = 0; i < 20000; ++i) {
        const float f = std::exp2(mag(rng)) * ((i & 1) ? -1.0f : 1.0f);
        const float r = round_to_fp16(f);
        const uint16_t h = fp32_to_fp16(f);
        const float up = fp16_to_fp32(static_cast<uint16_t>(h + 1));
        const float down = fp16_to_fp32(static_cast<uint16_t>(h - 1));
        // r is at least as close to f as both of its neighbours.
        REQUIRE(std::fabs(double(r) - f) <= std::fabs(double(up) - f));
        if ((h & 0x7FFF) != 0) {
            REQUIRE(std::fabs(double(r) - f) <= std::fabs(double(down) - f));
        }
    }
}

#if defined(__FLT16_MAX__)
TEST_CASE("fp16 conversion agrees with the compiler's _Float16", "[fp16]") {
    std::mt19937 rng(99);
    std::uniform_int_distribution<uint32_t> any_bits;
    for (int i = 0; i < 200000; ++i) {
        const float f = bits_to_float(any_bits(rng));
        if (std::isnan(f)) {
            continue;
        }
        const _Float16 c = static_cast<_Float16>(f);
        REQUIRE(fp32_to_fp16(f) == std::bit_cast<uint16_t>(c));
    }
}
#endif

TEST_CASE("bf16 conversions", "[bf16]") {
    CHECK(fp32_to_bf16(1.0f) == 0x3F80);
    CHECK(fp32_to_bf16(-2.0f) == 0xC000);
    CHECK(fp32_to_bf16(0.0f) == 0x0000);
    CHECK(fp32_to_bf16(-0.0f) == 0x8000);
    CHECK(bf16_to_fp32(0x3F80) == 1.0f);
    CHECK(bf16_to_fp32(0x4049) == 3.140625f);
    // Ties to even: 1 + 2^-8 lies halfway between 0x3F80 and 0x3F81 → 0x3F80; 1 + 3·2^-8 → 0x3F82.
    CHECK(fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);
    CHECK(fp32_to_bf16(1.0f + 3.0f * std::ldexp(1.0f, -8)) == 0x3F82);
    CHECK(fp32_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)) == 0x3F81);
    // Truncation would give 0x3F80 here; rounding gives 0x3F81.
    CHECK(fp32_to_bf16(bits_to_float(0x3F80C000u)) == 0x3F81);
    // Largest finite float rounds up to inf; inf and NaN keep their class.
    CHECK(fp32_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);
    CHECK(fp32_to_bf16(std::numeric_limits<float>::infinity()) == 0x7F80);
    CHECK(fp32_to_bf16(-std::numeric_limits<float>::infinity()) == 0xFF80);
    CHECK(std::isnan(bf16_to_fp32(fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(std::isnan(bf16_to_fp32(fp32_to_bf16(bits_to_float(0x7F800001u)))));  // low-payload NaN stays NaN
    // Subnormals are kept (bf16 shares binary32's exponent range).
    CHECK(fp32_to_bf16(bits_to_float(0x00010000u)) == 0x0001);
}

TEST_CASE("bf16 round trips every bit pattern", "[bf16]") {
    for (uint32_t b = 0; b <= 0xFFFF; ++b) {
        const float f = bf16_to_fp32(static_cast<uint16_t>(b));
        if (std::isnan(f)) {
            REQUIRE(std::isnan(bf16_to_fp32(fp32_to_bf16(f))));
            continue;
        }
        REQUIRE(fp32_to_bf16(f) == b);
    }
}
