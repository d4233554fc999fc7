// Tests of aprhost/reference/quant_blocks.hpp: block sizes and the K-quant 6-bit scale/min packing, checked
// against bytes packed by hand.
#include <aprhost/reference/quant_blocks.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

using namespace aprhost::ref;

TEST_CASE("block sizes match ggml", "[quant_blocks]") {
    CHECK(sizeof(block_q4_0) == 18);
    CHECK(sizeof(block_q4_1) == 20);
    CHECK(sizeof(block_q5_0) == 22);
    CHECK(sizeof(block_q5_1) == 24);
    CHECK(sizeof(block_q8_0) == 34);
    CHECK(sizeof(block_q4_K) == 144);
    CHECK(sizeof(block_q5_K) == 176);
    CHECK(sizeof(block_q6_K) == 210);
    CHECK(sizeof(block_q8_K) == 292);
}

// Scales {1,2,3,4,17,33,50,63} and mins {0,1,2,3,20,40,60,63}, packed on paper:
//   bytes 0-3  = scale[j] | (scale[j+4] >> 4) << 6
//   bytes 4-7  = min[j]   | (min[j+4] >> 4) << 6
//   bytes 8-11 = (scale[j+4] & 15) | (min[j+4] & 15) << 4
static const uint8_t kPackedScales[12] = {65, 130, 195, 196, 64, 129, 194, 195, 65, 129, 194, 255};
static const uint8_t kScales[8] = {1, 2, 3, 4, 17, 33, 50, 63};
static const uint8_t kMins[8] = {0, 1, 2, 3, 20, 40, 60, 63};

TEST_CASE("get_scale_min_k4 unpacks hand-packed bytes", "[quant_blocks]") {
    for (int j = 0; j < 8; ++j) {
        uint8_t sc = 0, m = 0;
        get_scale_min_k4(j, kPackedScales, &sc, &m);
        INFO("sub-block " << j);
        CHECK(sc == kScales[j]);
        CHECK(m == kMins[j]);
    }
}

TEST_CASE("pack_scale_min_k4 produces the hand-packed bytes and inverts get_scale_min_k4", "[quant_blocks]") {
    uint8_t packed[12] = {};
    pack_scale_min_k4(kScales, kMins, packed);
    for (int i = 0; i < 12; ++i) {
        INFO("byte " << i);
        CHECK(packed[i] == kPackedScales[i]);
    }
    std::mt19937 rng(7);
    for (int t = 0; t < 1000; ++t) {
        uint8_t sc[8], mn[8], q[12];
        for (int j = 0; j < 8; ++j) {
            sc[j] = static_cast<uint8_t>(rng() % 64);
            mn[j] = static_cast<uint8_t>(rng() % 64);
        }
        pack_scale_min_k4(sc, mn, q);
        for (int j = 0; j < 8; ++j) {
            uint8_t a = 0, b = 0;
            get_scale_min_k4(j, q, &a, &b);
            REQUIRE(a == sc[j]);
            REQUIRE(b == mn[j]);
        }
    }
}
