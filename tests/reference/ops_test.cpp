// Tests of aprhost/reference/ops.hpp against tiny examples worked out by hand (values in the comments).
#include <aprhost/reference/fp16.hpp>
#include <aprhost/reference/ops.hpp>
#include <aprhost/reference/quantize.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

using namespace aprhost::ref;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

TEST_CASE("rms_norm", "[ops]") {
    // Row 0 = [3, 4]: mean square 12.5 → [3, 4] / sqrt(12.5) = [0.848528137, 1.13137085].
    // Row 1 = [1, 1] with eps = 0: unchanged.
    const float x[4] = {3, 4, 1, 1};
    float out[4];
    rms_norm(x, nullptr, out, 2, 2, 0.0f);
    CHECK_THAT(out[0], WithinRel(0.848528137f, 1e-6f));
    CHECK_THAT(out[1], WithinRel(1.13137085f, 1e-6f));
    CHECK(out[2] == 1.0f);
    CHECK(out[3] == 1.0f);
    // With weight [2, 0.5].
    const float w[2] = {2.0f, 0.5f};
    rms_norm(x, w, out, 2, 2, 0.0f);
    CHECK_THAT(out[0], WithinRel(1.697056274f, 1e-6f));
    CHECK_THAT(out[1], WithinRel(0.565685425f, 1e-6f));
    CHECK(out[3] == 0.5f);
    // eps enters under the root: [1, 1] with eps 1 → 1/sqrt(2); zeros stay zero.
    const float z[4] = {1, 1, 0, 0};
    rms_norm(z, nullptr, out, 2, 2, 1.0f);
    CHECK_THAT(out[0], WithinRel(0.707106781f, 1e-6f));
    CHECK(out[2] == 0.0f);
    // In place.
    float inplace[2] = {3, 4};
    rms_norm(inplace, nullptr, inplace, 2, 1, 0.0f);
    CHECK_THAT(inplace[1], WithinRel(1.13137085f, 1e-6f));
}

TEST_CASE("matmul with f32 weights and bias", "[ops]") {
    // W (out 2 × in 3) = [[1,2,3],[4,5,6]]; x rows [1,0,-1], [2,1,0]:
    // y row 0 = [1−3, 4−6] = [−2, −2]; y row 1 = [2+2, 8+5] = [4, 13]. Bias [0.5, −1].
    const float W[6] = {1, 2, 3, 4, 5, 6};
    const float x[6] = {1, 0, -1, 2, 1, 0};
    float y[4];
    matmul(APH_DTYPE_F32, W, 3, 2, x, 2, nullptr, y);
    CHECK(y[0] == -2.0f);
    CHECK(y[1] == -2.0f);
    CHECK(y[2] == 4.0f);
    CHECK(y[3] == 13.0f);
    const float bias[2] = {0.5f, -1.0f};
    matmul(APH_DTYPE_F32, W, 3, 2, x, 2, bias, y);
    CHECK(y[0] == -1.5f);
    CHECK(y[1] == -3.0f);
    CHECK(y[2] == 4.5f);
    CHECK(y[3] == 12.0f);
}

TEST_CASE("matmul dequantizes each weight row", "[ops]") {
    // Two Q8_0 rows of 32: row 0 = 0.5·(8i − 127) (exact in Q8_0), row 1 = its negation; x = ones.
    // Σ_i 0.5·(8i − 127) = 0.5·(8·496 − 127·32) = 0.5·(3968 − 4064) = −48.
    std::vector<float> w(64);
    for (int i = 0; i < 32; ++i) {
        w[i] = 0.5f * float(8 * i - 127);
        w[32 + i] = -w[i];
    }
    std::vector<uint8_t> packed(row_bytes(APH_DTYPE_Q8_0, 64));
    quantize_row(APH_DTYPE_Q8_0, w.data(), packed.data(), 64);
    const std::vector<float> ones(32, 1.0f);
    float y[2];
    matmul(APH_DTYPE_Q8_0, packed.data(), 32, 2, ones.data(), 1, nullptr, y);
    CHECK(y[0] == -48.0f);
    CHECK(y[1] == 48.0f);

    // F16 weights, n = 3 columns: y[j·out + r].
    const uint16_t wh[4] = {fp32_to_fp16(1.0f), fp32_to_fp16(-0.5f), fp32_to_fp16(2.0f), fp32_to_fp16(0.25f)};
    const float xs[6] = {1, 2, 3, 4, -1, 0};
    float yh[6];
    matmul(APH_DTYPE_F16, wh, 2, 2, xs, 3, nullptr, yh);
    CHECK(yh[0] == 0.0f);    // 1·1 − 0.5·2
    CHECK(yh[1] == 2.5f);    // 2·1 + 0.25·2
    CHECK(yh[2] == 1.0f);    // 3 − 2
    CHECK(yh[3] == 7.0f);    // 6 + 1
    CHECK(yh[4] == -1.0f);
    CHECK(yh[5] == -2.0f);
    CHECK_THROWS_AS(matmul(APH_DTYPE_Q2_K, packed.data(), 256, 1, ones.data(), 1, nullptr, y), std::invalid_argument);
    CHECK_THROWS_AS(matmul(APH_DTYPE_Q4_K, packed.data(), 255, 1, ones.data(), 1, nullptr, y), std::invalid_argument);
}

TEST_CASE("rope NORM rotates adjacent pairs", "[ops]") {
    // head_dim 4, n_rot 4, base 10000, pos 1: pair (0,1) turns by 1 rad, pair (2,3) by 10000^(−1/2) = 0.01 rad.
    // [1, 0, 0, 1] → [cos 1, sin 1, −sin 0.01, cos 0.01].
    float x[4] = {1, 0, 0, 1};
    const int32_t pos[1] = {1};
    rope(x, 4, 1, 1, pos, APH_ROPE_NORM, 4, 10000.0f, 1.0f);
    CHECK_THAT(x[0], WithinAbs(0.540302306, 1e-7));
    CHECK_THAT(x[1], WithinAbs(0.841470985, 1e-7));
    CHECK_THAT(x[2], WithinAbs(-0.00999983333, 1e-7));
    CHECK_THAT(x[3], WithinAbs(0.99995, 1e-7));
}

TEST_CASE("rope NEOX rotates (i, i + n_rot/2)", "[ops]") {
    // Pairs (0,2) by 1 rad and (1,3) by 0.01 rad: [1, 0, 0, 1] → [cos 1, −sin 0.01, sin 1, cos 0.01].
    float x[4] = {1, 0, 0, 1};
    const int32_t pos[1] = {1};
    rope(x, 4, 1, 1, pos, APH_ROPE_NEOX, 4, 10000.0f, 1.0f);
    CHECK_THAT(x[0], WithinAbs(0.540302306, 1e-7));
    CHECK_THAT(x[1], WithinAbs(-0.00999983333, 1e-7));
    CHECK_THAT(x[2], WithinAbs(0.841470985, 1e-7));
    CHECK_THAT(x[3], WithinAbs(0.99995, 1e-7));
}

TEST_CASE("rope layout: tokens, heads, positions, n_rot and freq_scale", "[ops]") {
    // 2 tokens × 2 heads × head_dim 4, n_rot 2 (dims 2, 3 untouched), positions [0, 1].
    float x[16];
    for (int i = 0; i < 16; ++i) x[i] = (i % 4 == 0) ? 1.0f : float(i);
    const int32_t pos[2] = {0, 1};
    float y[16];
    std::copy(x, x + 16, y);
    rope(y, 4, 2, 2, pos, APH_ROPE_NORM, 2, 10000.0f, 1.0f);
    for (int i = 0; i < 8; ++i) CHECK(y[i] == x[i]);  // position 0: identity
    for (int h = 0; h < 2; ++h) {
        const int o = 8 + 4 * h;
        // (1, b) turned by 1 rad: (cos 1 − b sin 1, sin 1 + b cos 1)
        const double b = x[o + 1];
        CHECK_THAT(y[o], WithinAbs(std::cos(1.0) - b * std::sin(1.0), 1e-5));
        CHECK_THAT(y[o + 1], WithinAbs(std::sin(1.0) + b * std::cos(1.0), 1e-5));
        CHECK(y[o + 2] == x[o + 2]);
        CHECK(y[o + 3] == x[o + 3]);
    }
    // freq_scale multiplies positions: pos 2 at scale 0.5 equals pos 1 at scale 1.
    float a[4] = {1, 2, 3, 4}, c[4] = {1, 2, 3, 4};
    const int32_t p1[1] = {1}, p2[1] = {2};
    rope(a, 4, 1, 1, p1, APH_ROPE_NEOX, 4, 1e6f, 1.0f);
    rope(c, 4, 1, 1, p2, APH_ROPE_NEOX, 4, 1e6f, 0.5f);
    for (int i = 0; i < 4; ++i) CHECK(a[i] == c[i]);
    CHECK_THROWS_AS(rope(a, 4, 1, 1, p1, 1, 4, 1e4f, 1.0f), std::invalid_argument);
    CHECK_THROWS_AS(rope(a, 4, 1, 1, p1, APH_ROPE_NORM, 3, 1e4f, 1.0f), std::invalid_argument);
    CHECK_THROWS_AS(rope(a, 4, 1, 1, p1, APH_ROPE_NORM, 6, 1e4f, 1.0f), std::invalid_argument);
}

TEST_CASE("attention: two kv entries by hand, causal mask", "[ops]") {
    // head_dim 2, one head. k0 = [1, 0], k1 = [0, 1], v0 = [1, 2], v1 = [3, 4].
    const float k[4] = {1, 0, 0, 1};
    const float v[4] = {1, 2, 3, 4};
    // One query [1, 0] that sees both entries: scores [1, 0] → p = [e/(e+1), 1/(e+1)] = [0.731059, 0.268941];
    // out = 0.731059·[1, 2] + 0.268941·[3, 4] = [1.53788284, 2.53788284].
    const float q1[2] = {1, 0};
    float out[4];
    attention(q1, k, v, 2, 1, 1, 1, 2, 1.0f, out);
    CHECK_THAT(out[0], WithinAbs(1.53788284, 1e-6));
    CHECK_THAT(out[1], WithinAbs(2.53788284, 1e-6));
    // Two queries over two entries: query 0 sees only kv 0 (→ v0 exactly), query 1 sees both.
    const float q2[4] = {5, 5, 1, 0};
    attention(q2, k, v, 2, 1, 1, 2, 2, 1.0f, out);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 2.0f);
    CHECK_THAT(out[2], WithinAbs(1.53788284, 1e-6));
    CHECK_THAT(out[3], WithinAbs(2.53788284, 1e-6));
    // scale 0: uniform weights → mean of v.
    attention(q1, k, v, 2, 1, 1, 1, 2, 0.0f, out);
    CHECK(out[0] == 2.0f);
    CHECK(out[1] == 3.0f);
    // Large scores do not overflow (max subtracted): q·k0 = 1000 dominates.
    const float qbig[2] = {1000, 0};
    attention(qbig, k, v, 2, 1, 1, 1, 2, 1.0f, out);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 2.0f);
    CHECK_THROWS_AS(attention(q2, k, v, 2, 1, 1, 3, 2, 1.0f, out), std::invalid_argument);
}

TEST_CASE("attention GQA: query head h uses kv head h / (n_heads / n_kv_heads)", "[ops]") {
    // 4 query heads, 2 kv heads, head_dim 1, one kv entry: softmax over one entry is 1, so each head outputs the
    // v of its kv head: v = [10, 20] → [10, 10, 20, 20].
    const float q[4] = {1, 2, 3, 4};
    const float k1[2] = {1, 1};
    const float v1[2] = {10, 20};
    float out[4];
    attention(q, k1, v1, 1, 4, 2, 1, 1, 1.0f, out);
    CHECK(out[0] == 10.0f);
    CHECK(out[1] == 10.0f);
    CHECK(out[2] == 20.0f);
    CHECK(out[3] == 20.0f);
    // Two kv entries, K differs per kv head so the mapping shows in the weights. Row i = [head 0, head 1].
    // kv head 0 keys [0, 1], kv head 1 keys [1, 0]; values head 0 [0, 1], head 1 [0, 1]. All q = 1:
    //   heads 0, 1 (kv head 0): scores [0, 1] → out = e/(1+e) = 0.731059
    //   heads 2, 3 (kv head 1): scores [1, 0] → out = 1/(1+e) = 0.268941
    const float k2[4] = {0, 1, 1, 0};
    const float v2[4] = {0, 0, 1, 1};
    const float qa[4] = {1, 1, 1, 1};
    attention(qa, k2, v2, 1, 4, 2, 1, 2, 1.0f, out);
    CHECK_THAT(out[0], WithinAbs(0.731058579, 1e-6));
    CHECK_THAT(out[1], WithinAbs(0.731058579, 1e-6));
    CHECK_THAT(out[2], WithinAbs(0.268941421, 1e-6));
    CHECK_THAT(out[3], WithinAbs(0.268941421, 1e-6));
    CHECK_THROWS_AS(attention(qa, k2, v2, 1, 3, 2, 1, 2, 1.0f, out), std::invalid_argument);
}

TEST_CASE("kv_store, kv_slot and gather_kv_rows follow the block table", "[ops]") {
    // block_size 2, table [2, 0]: kv entries 0, 1, 2 live in slots 4, 5, 0.
    const int32_t table[2] = {2, 0};
    CHECK(kv_slot(table, 2, 0) == 4);
    CHECK(kv_slot(table, 2, 1) == 5);
    CHECK(kv_slot(table, 2, 2) == 0);
    const float rows[6] = {1, 2, 3, 4, 5.0009765625f, 6};  // 5 + 2^-10 is not an f16 (ulp at 5 is 2^-8)
    const int32_t slots[3] = {4, 5, 0};
    std::vector<uint16_t> cache(6 * 2, 0xFFFF);
    kv_store(rows, 2, 3, slots, APH_DTYPE_F16, cache.data());
    CHECK(cache[8] == fp32_to_fp16(1.0f));
    CHECK(cache[11] == fp32_to_fp16(4.0f));
    CHECK(cache[0] == fp32_to_fp16(5.0f));  // rounded to nearest
    CHECK(cache[2] == 0xFFFF);                // untouched slot
    float dense[6];
    gather_kv_rows(APH_DTYPE_F16, cache.data(), 2, table, 2, 3, dense);
    CHECK(dense[0] == 1.0f);
    CHECK(dense[3] == 4.0f);
    CHECK(dense[4] == 5.0f);
    CHECK(dense[5] == 6.0f);
    CHECK_THROWS_AS(kv_store(rows, 2, 3, slots, APH_DTYPE_Q8_0, cache.data()), std::invalid_argument);
}

TEST_CASE("swiglu and geglu", "[ops]") {
    // silu(1)·2 = 2/(1+e^−1) = 1.46211716; silu(−1)·0.5 = −0.134470711; silu(0) = 0.
    const float g[3] = {1, -1, 0};
    const float u[3] = {2, 0.5f, 7};
    float out[3];
    swiglu(g, u, out, 3);
    CHECK_THAT(out[0], WithinRel(1.46211716f, 1e-6f));
    CHECK_THAT(out[1], WithinRel(-0.134470711f, 1e-6f));
    CHECK(out[2] == 0.0f);
    // gelu_tanh(1) = 0.841191991, gelu_tanh(−2)·1 = −0.0454023059, gelu_tanh(0.5)·3 = 1.03714203.
    const float gg[3] = {1, -2, 0.5f};
    const float uu[3] = {1, 1, 3};
    geglu(gg, uu, out, 3);
    CHECK_THAT(out[0], WithinRel(0.841191991f, 1e-6f));
    CHECK_THAT(out[1], WithinRel(-0.0454023059f, 1e-5f));
    CHECK_THAT(out[2], WithinRel(1.03714203f, 1e-6f));
    // Extreme gates stay finite.
    const float big[2] = {-1000.0f, 1000.0f};
    const float one[2] = {1, 1};
    swiglu(big, one, out, 2);
    CHECK(out[0] == 0.0f);
    CHECK(out[1] == 1000.0f);
}

TEST_CASE("add with and without broadcast, scale", "[ops]") {
    const float a[4] = {1, 2, 3, 4};
    const float b[4] = {10, 20, 30, 40};
    float out[4];
    add(a, b, out, 2, 2, 2);
    CHECK(out[0] == 11.0f);
    CHECK(out[3] == 44.0f);
    add(a, b, out, 2, 2, 1);  // b's first row [10, 20] added to both rows
    CHECK(out[0] == 11.0f);
    CHECK(out[1] == 22.0f);
    CHECK(out[2] == 13.0f);
    CHECK(out[3] == 24.0f);
    CHECK_THROWS_AS(add(a, b, out, 2, 2, 3), std::invalid_argument);
    scale(a, out, 4, -0.5f);
    CHECK(out[0] == -0.5f);
    CHECK(out[3] == -2.0f);
}

TEST_CASE("get_rows picks and dequantizes rows", "[ops]") {
    // Table of 3 Q4_0 rows of 32: row r = 0.5·((i % 16) − 8) + ... built exactly; ids [2, 0, 2].
    std::vector<float> t(96);
    for (int r = 0; r < 3; ++r)
        for (int i = 0; i < 32; ++i) t[r * 32 + i] = float(r + 1) * 0.5f * float(i % 16 - 8);
    std::vector<uint8_t> packed(row_bytes(APH_DTYPE_Q4_0, 96));
    quantize_row(APH_DTYPE_Q4_0, t.data(), packed.data(), 96);
    const int32_t ids[3] = {2, 0, 2};
    std::vector<float> out(96);
    get_rows(APH_DTYPE_Q4_0, packed.data(), 32, ids, 3, out.data());
    for (int i = 0; i < 32; ++i) {
        REQUIRE(out[i] == t[64 + i]);
        REQUIRE(out[32 + i] == t[i]);
        REQUIRE(out[64 + i] == t[64 + i]);
    }
    // F32 table.
    const float ft[6] = {1, 2, 3, 4, 5, 6};
    const int32_t fid[2] = {1, 1};
    float fo[6];
    get_rows(APH_DTYPE_F32, ft, 3, fid, 2, fo);
    CHECK(fo[0] == 4.0f);
    CHECK(fo[5] == 6.0f);
}

TEST_CASE("copy converts between f32, f16 and bf16", "[ops]") {
    const float x[3] = {1.0f, 1.0f + std::ldexp(1.0f, -11), -65504.0f};
    uint16_t h[3];
    copy(APH_DTYPE_F32, x, APH_DTYPE_F16, h, 3);
    CHECK(h[0] == 0x3C00);
    CHECK(h[1] == 0x3C00);  // tie → even
    CHECK(h[2] == 0xFBFF);
    uint16_t b[3];
    copy(APH_DTYPE_F16, h, APH_DTYPE_BF16, b, 3);
    CHECK(b[0] == 0x3F80);
    float back[3];
    copy(APH_DTYPE_BF16, b, APH_DTYPE_F32, back, 3);
    CHECK(back[0] == 1.0f);
    CHECK(back[2] == -65536.0f);  // −65504 is not a bf16: nearest is −65536
    uint16_t same[3];
    copy(APH_DTYPE_F16, h, APH_DTYPE_F16, same, 3);
    CHECK(same[2] == h[2]);
}
