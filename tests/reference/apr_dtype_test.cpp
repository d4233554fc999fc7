// The APR-native dtypes in the SDK reference: APR_Q4 (f16 scale, nibble pairs) and APR_Q8 (f32 scale + i8),
// checked against hand-packed blocks and a quantize → dequantize round trip.
#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/quantize.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace aprhost::ref;

TEST_CASE("APR dtypes: block facts", "[reference][apr]") {
    CHECK(dtype_supported(APH_DTYPE_APR_Q4));
    CHECK(dtype_supported(APH_DTYPE_APR_Q8));
    CHECK(block_elems(APH_DTYPE_APR_Q4) == 32);
    CHECK(block_bytes(APH_DTYPE_APR_Q4) == 18);
    CHECK(block_bytes(APH_DTYPE_APR_Q8) == 36);
    CHECK(row_bytes(APH_DTYPE_APR_Q8, 64) == 72);
}

TEST_CASE("APR_Q4 dequantizes even elements from the low nibble", "[reference][apr]") {
    block_apr_q4 b{};
    b.d = fp32_to_fp16(0.5f);
    for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t((j & 15) | ((15 - j) << 4));
    float y[32];
    dequantize_row(APH_DTYPE_APR_Q4, &b, y, 32);
    for (int j = 0; j < 16; ++j) {
        CHECK(y[2 * j] == 0.5f * float(j - 8));
        CHECK(y[2 * j + 1] == 0.5f * float(7 - j));
    }
}

TEST_CASE("APR_Q8 dequantizes scale times i8", "[reference][apr]") {
    block_apr_q8 b{};
    b.d = 0.25f;
    for (int i = 0; i < 32; ++i) b.qs[i] = int8_t(i - 16);
    float y[32];
    dequantize_row(APH_DTYPE_APR_Q8, &b, y, 32);
    for (int i = 0; i < 32; ++i) CHECK(y[i] == 0.25f * float(i - 16));
}

TEST_CASE("APR dtypes quantize round trip within one step", "[reference][apr]") {
    auto dt = GENERATE(APH_DTYPE_APR_Q4, APH_DTYPE_APR_Q8);
    std::vector<float> x(128), y(128);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i) * 0.37f) * 3.0f;
    std::vector<uint8_t> q(row_bytes(dt, 128));
    quantize_row(dt, x.data(), q.data(), 128);
    dequantize_row(dt, q.data(), y.data(), 128);
    const float step = dt == APH_DTYPE_APR_Q4 ? 3.0f / 8.0f : 3.0f / 127.0f;
    for (size_t i = 0; i < x.size(); ++i) CHECK(std::fabs(x[i] - y[i]) <= step + 1e-3f);
    CHECK_THROWS_AS(dequantize_row(dt, q.data(), y.data(), 33), std::invalid_argument);
}
