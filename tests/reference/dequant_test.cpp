// Tests of aprhost/reference/dequant.hpp. Each dequantizer is checked against blocks built here from chosen
// integer codes by an encoder written per element (where does element e live?), independently of the
// dequantizer's loops, plus a few values worked out by hand.
#include <aprhost/reference/dequant.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

using namespace aprhost::ref;

namespace {

constexpr uint16_t kHalfOne = 0x3C00;      // 1.0
constexpr uint16_t kHalfHalf = 0x3800;     // 0.5
constexpr uint16_t kHalfQuarter = 0x3400;  // 0.25
constexpr uint16_t kHalfTwo = 0x4000;      // 2.0
constexpr uint16_t kHalfMinusOne = 0xBC00; // -1.0

template <typename Block>
std::vector<float> dequant(aph_dtype t, const Block& b, int n) {
    std::vector<float> out(static_cast<size_t>(n), -12345.0f);
    dequantize_row(t, &b, out.data(), n);
    return out;
}

// Put code q (0..15) of element e (0..31) into a Q4_0/Q4_1/Q5_x nibble array: e < 16 → low nibble of qs[e].
void put_nibble32(uint8_t* qs, int e, int q) {
    if (e < 16) {
        qs[e] = static_cast<uint8_t>((qs[e] & 0xF0) | (q & 0x0F));
    } else {
        qs[e - 16] = static_cast<uint8_t>((qs[e - 16] & 0x0F) | ((q & 0x0F) << 4));
    }
}

// K-quant element e (0..255) of Q4_K/Q5_K: chunk c = e / 64 owns qs[32c .. 32c+31]; its first 32 elements are
// the low nibbles, the next 32 the high nibbles. The 5th bit is bit (e / 32) of qh[e % 32].
void put_q4k(uint8_t* qs, int e, int q) {
    const int c = e / 64, r = e % 64, l = r % 32;
    uint8_t& byte = qs[32 * c + l];
    if (r < 32) {
        byte = static_cast<uint8_t>((byte & 0xF0) | (q & 0x0F));
    } else {
        byte = static_cast<uint8_t>((byte & 0x0F) | ((q & 0x0F) << 4));
    }
}
void put_q5k(block_q5_K& b, int e, int q) {
    put_q4k(b.qs, e, q);
    const int l = e % 32, bit = e / 32;
    b.qh[l] = static_cast<uint8_t>((b.qh[l] & ~(1u << bit)) | (((q >> 4) & 1u) << bit));
}

// Q6_K element e: half h = e / 128, r = e % 128, group g = r / 32 (0..3), l = r % 32.
// Low 4 bits: ql[64h + l + 32·(g & 1)], low nibble for g < 2, high nibble for g ≥ 2. High 2 bits: qh[32h + l]
// at bit 2g.
void put_q6k(block_q6_K& b, int e, int q) {
    const int h = e / 128, r = e % 128, g = r / 32, l = r % 32;
    uint8_t& lo = b.ql[64 * h + l + 32 * (g & 1)];
    if (g < 2) {
        lo = static_cast<uint8_t>((lo & 0xF0) | (q & 0x0F));
    } else {
        lo = static_cast<uint8_t>((lo & 0x0F) | ((q & 0x0F) << 4));
    }
    uint8_t& hi = b.qh[32 * h + l];
    hi = static_cast<uint8_t>((hi & ~(3u << (2 * g))) | (((q >> 4) & 3u) << (2 * g)));
}

const uint8_t kPackedScales[12] = {65, 130, 195, 196, 64, 129, 194, 195, 65, 129, 194, 255};
const int kScales[8] = {1, 2, 3, 4, 17, 33, 50, 63};
const int kMins[8] = {0, 1, 2, 3, 20, 40, 60, 63};

}  // namespace

TEST_CASE("block facts", "[dequant]") {
    CHECK(dtype_supported(APH_DTYPE_Q4_K));
    CHECK(dtype_supported(APH_DTYPE_BF16));
    CHECK_FALSE(dtype_supported(APH_DTYPE_Q2_K));
    CHECK_FALSE(dtype_supported(APH_DTYPE_I32));
    CHECK_FALSE(dtype_supported(999));
    CHECK(block_elems(APH_DTYPE_F16) == 1);
    CHECK(block_elems(APH_DTYPE_Q5_1) == 32);
    CHECK(block_elems(APH_DTYPE_Q6_K) == 256);
    CHECK(block_elems(APH_DTYPE_Q3_K) == 0);
    CHECK(block_bytes(APH_DTYPE_F32) == 4);
    CHECK(block_bytes(APH_DTYPE_BF16) == 2);
    CHECK(block_bytes(APH_DTYPE_Q4_0) == 18);
    CHECK(block_bytes(APH_DTYPE_Q5_K) == 176);
    CHECK(block_bytes(APH_DTYPE_Q8_K) == 292);
    CHECK(row_bytes(APH_DTYPE_Q4_0, 64) == 36);
    CHECK(row_bytes(APH_DTYPE_Q4_K, 512) == 288);
    CHECK(row_bytes(APH_DTYPE_Q6_K, 256) == 210);
    CHECK(row_bytes(APH_DTYPE_F16, 3) == 6);
    CHECK(row_bytes(APH_DTYPE_Q4_0, 33) == 0);
    CHECK(row_bytes(APH_DTYPE_Q4_K, 896) == 0);
    CHECK(row_bytes(APH_DTYPE_Q2_K, 256) == 0);
    CHECK(row_bytes(APH_DTYPE_F32, -1) == 0);
}

TEST_CASE("dequantize rejects bad input", "[dequant]") {
    block_q4_0 b{};
    float out[64];
    CHECK_THROWS_AS(dequantize_row(APH_DTYPE_Q4_0, &b, out, 31), std::invalid_argument);
    CHECK_THROWS_AS(dequantize_row(APH_DTYPE_Q2_K, &b, out, 256), std::invalid_argument);
    CHECK_THROWS_AS(dequantize_row(uint32_t{77}, &b, out, 32), std::invalid_argument);
    CHECK_NOTHROW(dequantize_row(APH_DTYPE_Q4_0, &b, out, 0));
}

TEST_CASE("f32, f16 and bf16 rows", "[dequant]") {
    const float f[3] = {1.5f, -0.0f, 3e-3f};
    float out[3];
    dequantize_row(APH_DTYPE_F32, f, out, 3);
    CHECK(std::memcmp(f, out, sizeof f) == 0);

    const uint16_t h[4] = {0x3C00, 0xC000, 0x7BFF, 0x0001};
    float oh[4];
    dequantize_row(APH_DTYPE_F16, h, oh, 4);
    CHECK(oh[0] == 1.0f);
    CHECK(oh[1] == -2.0f);
    CHECK(oh[2] == 65504.0f);
    CHECK(oh[3] == std::ldexp(1.0f, -24));

    const uint16_t bf[2] = {0x3F80, 0xC049};
    float ob[2];
    dequantize_row(APH_DTYPE_BF16, bf, ob, 2);
    CHECK(ob[0] == 1.0f);
    CHECK(ob[1] == -3.140625f);
}

TEST_CASE("q4_0: low nibbles are elements 0..15, high nibbles 16..31", "[dequant]") {
    block_q4_0 b{};
    b.d = kHalfHalf;
    // Hand-packed: qs[j] = j | (15 - j) << 4, so element j = 0.5·(j − 8), element 16 + j = 0.5·(7 − j).
    for (int j = 0; j < 16; ++j) {
        b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    }
    const auto y = dequant(APH_DTYPE_Q4_0, b, 32);
    CHECK(y[0] == -4.0f);
    CHECK(y[8] == 0.0f);
    CHECK(y[15] == 3.5f);
    CHECK(y[16] == 3.5f);
    CHECK(y[31] == -4.0f);
    for (int j = 0; j < 16; ++j) {
        REQUIRE(y[j] == 0.5f * float(j - 8));
        REQUIRE(y[16 + j] == 0.5f * float(7 - j));
    }
}

TEST_CASE("q4_1: x = d*q + m", "[dequant]") {
    block_q4_1 b{};
    b.d = kHalfQuarter;
    b.m = kHalfMinusOne;
    int q[32];
    for (int e = 0; e < 32; ++e) {
        q[e] = (e * 5 + 3) % 16;
        put_nibble32(b.qs, e, q[e]);
    }
    const auto y = dequant(APH_DTYPE_Q4_1, b, 32);
    CHECK(y[0] == 0.25f * 3 - 1.0f);   // q = 3
    CHECK(y[17] == 0.25f * 8 - 1.0f);  // q = 88 % 16 = 8 → 1.0
    for (int e = 0; e < 32; ++e) {
        REQUIRE(y[e] == 0.25f * float(q[e]) - 1.0f);
    }
}

TEST_CASE("q5_0: 5th bit i of the little-endian qh word belongs to element i", "[dequant]") {
    block_q5_0 b{};
    b.d = kHalfOne;
    // Literal check first: all nibbles 0, qh = 0x80000001 → elements 0 and 31 are 16 − 16 = 0, the rest −16.
    b.qh[0] = 0x01;
    b.qh[3] = 0x80;
    auto y = dequant(APH_DTYPE_Q5_0, b, 32);
    CHECK(y[0] == 0.0f);
    CHECK(y[31] == 0.0f);
    CHECK(y[1] == -16.0f);
    CHECK(y[16] == -16.0f);
    // Bit 16 (qh[2] bit 0) is element 16, the high nibble of qs[0].
    b = block_q5_0{};
    b.d = kHalfTwo;
    b.qh[2] = 0x01;
    b.qs[0] = 0x30;  // element 16 low bits = 3
    y = dequant(APH_DTYPE_Q5_0, b, 32);
    CHECK(y[16] == 2.0f * (19 - 16));
    CHECK(y[0] == 2.0f * -16);

    b = block_q5_0{};
    b.d = kHalfHalf;
    int q[32];
    for (int e = 0; e < 32; ++e) {
        q[e] = (e * 7 + 1) % 32;
        put_nibble32(b.qs, e, q[e]);
        b.qh[e / 8] = static_cast<uint8_t>(b.qh[e / 8] | (((q[e] >> 4) & 1) << (e % 8)));
    }
    y = dequant(APH_DTYPE_Q5_0, b, 32);
    for (int e = 0; e < 32; ++e) {
        REQUIRE(y[e] == 0.5f * float(q[e] - 16));
    }
}

TEST_CASE("q5_1: x = d*q + m with 5-bit q", "[dequant]") {
    block_q5_1 b{};
    b.d = kHalfQuarter;
    b.m = kHalfMinusOne;
    int q[32];
    for (int e = 0; e < 32; ++e) {
        q[e] = (e * 11 + 5) % 32;
        put_nibble32(b.qs, e, q[e]);
        b.qh[e / 8] = static_cast<uint8_t>(b.qh[e / 8] | (((q[e] >> 4) & 1) << (e % 8)));
    }
    const auto y = dequant(APH_DTYPE_Q5_1, b, 32);
    CHECK(y[1] == 0.25f * 16 - 1.0f);  // q = 16: needs the 5th bit
    for (int e = 0; e < 32; ++e) {
        REQUIRE(y[e] == 0.25f * float(q[e]) - 1.0f);
    }
}

TEST_CASE("q8_0: x = d*q", "[dequant]") {
    block_q8_0 b[2]{};
    b[0].d = kHalfTwo;
    b[1].d = kHalfHalf;
    for (int i = 0; i < 32; ++i) {
        b[0].qs[i] = static_cast<int8_t>(i - 16);
        b[1].qs[i] = static_cast<int8_t>(127 - 8 * i);
    }
    float y[64];
    dequantize_row(APH_DTYPE_Q8_0, b, y, 64);
    CHECK(y[0] == -32.0f);
    CHECK(y[31] == 30.0f);
    CHECK(y[32] == 63.5f);
    CHECK(y[63] == 0.5f * (127 - 248));
}

TEST_CASE("q4_K: 6-bit scales/mins and 64-element chunks", "[dequant]") {
    block_q4_K b{};
    b.d = kHalfOne;
    b.dmin = kHalfHalf;
    std::memcpy(b.scales, kPackedScales, 12);
    int q[256];
    for (int e = 0; e < 256; ++e) {
        q[e] = (e * 7 + e / 32) % 16;
        put_q4k(b.qs, e, q[e]);
    }
    const auto y = dequant(APH_DTYPE_Q4_K, b, 256);
    // Element 165 = chunk 2, high half (sub-block 5: scale 33, min 40), q = (1155 + 5) % 16 = 8:
    // 1·33·8 − 0.5·40 = 244. It sits in the high nibble of qs[64 + 5].
    CHECK(q[165] == 8);
    CHECK((b.qs[69] >> 4) == 8);
    CHECK(y[165] == 244.0f);
    for (int e = 0; e < 256; ++e) {
        const int s = e / 32;
        INFO("element " << e);
        REQUIRE(y[e] == float(kScales[s] * q[e]) - 0.5f * float(kMins[s]));
    }
}

TEST_CASE("q5_K: the 5th bit of element e is bit e/32 of qh[e%32]", "[dequant]") {
    block_q5_K b{};
    b.d = kHalfHalf;
    b.dmin = kHalfOne;
    std::memcpy(b.scales, kPackedScales, 12);
    int q[256];
    for (int e = 0; e < 256; ++e) {
        q[e] = (e * 13 + 3) % 32;
        put_q5k(b, e, q[e]);
    }
    const auto y = dequant(APH_DTYPE_Q5_K, b, 256);
    // Element 230: sub-block 7 (scale 63, min 63), q = (2990 + 3) % 32 = 17 → 0.5·63·17 − 63 = 472.5.
    // Its low bits are in the high nibble of qs[96 + 6], its 5th bit is bit 7 of qh[6].
    CHECK(q[230] == 17);
    CHECK(((b.qh[6] >> 7) & 1) == 1);
    CHECK(y[230] == 472.5f);
    for (int e = 0; e < 256; ++e) {
        const int s = e / 32;
        INFO("element " << e);
        REQUIRE(y[e] == 0.5f * float(kScales[s] * q[e]) - float(kMins[s]));
    }
}

TEST_CASE("q6_K: 128-element halves with interleaved ql/qh and int8 scales", "[dequant]") {
    block_q6_K b{};
    b.d = kHalfHalf;
    for (int s = 0; s < 16; ++s) {
        b.scales[s] = static_cast<int8_t>(s * 9 - 70);  // negative and positive scales
    }
    int q[256];
    for (int e = 0; e < 256; ++e) {
        q[e] = (e * 29 + 11) % 64;
        put_q6k(b, e, q[e]);
    }
    const auto y = dequant(APH_DTYPE_Q6_K, b, 256);
    // Element 200: half 1, group 2 (r = 72), l = 8 → high nibble of ql[72], bits 4-5 of qh[40];
    // q = (5800 + 11) % 64 = 51, scale index 12 → 38: 0.5·38·(51 − 32) = 361.
    CHECK(q[200] == 51);
    CHECK((b.ql[72] >> 4) == (51 & 15));
    CHECK(((b.qh[40] >> 4) & 3) == (51 >> 4));
    CHECK(y[200] == 361.0f);
    for (int e = 0; e < 256; ++e) {
        INFO("element " << e);
        REQUIRE(y[e] == 0.5f * float(b.scales[e / 16]) * float(q[e] - 32));
    }
}

TEST_CASE("q8_K: x = d*q with an f32 d", "[dequant]") {
    block_q8_K b{};
    b.d = 0.125f;
    for (int i = 0; i < 256; ++i) {
        b.qs[i] = static_cast<int8_t>(i - 128);
    }
    const auto y = dequant(APH_DTYPE_Q8_K, b, 256);
    CHECK(y[0] == -16.0f);
    CHECK(y[255] == 127 * 0.125f);
}

TEST_CASE("dequantize reads unaligned multi-block rows", "[dequant]") {
    block_q4_K blocks[2]{};
    for (auto& b : blocks) {
        b.d = kHalfOne;
        b.dmin = kHalfHalf;
        std::memcpy(b.scales, kPackedScales, 12);
    }
    for (int e = 0; e < 256; ++e) {
        put_q4k(blocks[1].qs, e, e % 16);
    }
    std::vector<uint8_t> raw(sizeof blocks + 1);
    std::memcpy(raw.data() + 1, blocks, sizeof blocks);
    std::vector<float> y(512), ref(512);
    dequantize_row(APH_DTYPE_Q4_K, raw.data() + 1, y.data(), 512);
    dequantize_row(APH_DTYPE_Q4_K, blocks, ref.data(), 512);
    CHECK(y == ref);
    CHECK(y[0] == -0.0f);  // block 0: q = 0, min 0
    CHECK(y[256 + 255] == float(63 * 15) - 0.5f * 63);
}
