// MUL_MAT on both variants against aprhost::ref::matmul, every weight dtype × a family of shapes: odd K for the
// float types, 1 and several blocks for the block types, output rows that are not a multiple of anything, N = 1
// (decode) and N > 1 including N > 16 (more than one column block), plus bias and strided views.
#include "cpu_test_harness.hpp"
#include "cpu_tolerances.hpp"

#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace cputest;

namespace {

struct Shape {
    int64_t k, m, n;
};

std::vector<Shape> shapes_for(uint32_t dtype) {
    if (is_float_weight(dtype)) return {{5, 1, 1}, {37, 7, 3}, {64, 37, 17}, {301, 37, 1}, {1003, 300, 9}};
    if (is_k_quant(dtype)) return {{256, 1, 1}, {768, 7, 3}, {256, 37, 17}, {768, 37, 1}, {1024, 300, 9}};
    return {{32, 1, 1}, {96, 7, 3}, {320, 37, 17}, {96, 37, 1}, {1024, 300, 9}};
}

// Runs dst = W·X (+bias) on the plugin; optional row padding of X and dst (views with nb1 > row bytes).
std::vector<float> run_matmul(Backend& be, uint32_t dtype, const Shape& s, const std::vector<uint8_t>& w,
                              const std::vector<float>& x, const std::vector<float>* bias, int64_t pad, bool* sentinels) {
    Graph g(be);
    const int tw = g.add(dtype, {s.k, s.m}, w.data());
    const int tx = g.add_f32({s.k, s.n}, x, pad);
    const int tb = bias ? g.add_f32({s.m}, *bias) : -1;
    const int td = g.add(APH_DTYPE_F32, {s.m, s.n}, nullptr, pad);
    g.node(APH_OP_MUL_MAT, {tw, tx, tb}, td);
    std::string err;
    REQUIRE(g.compute(&err) == APH_OK);
    if (sentinels) *sentinels = g.sentinels_intact();
    return g.f32(td);
}

std::vector<float> ref_matmul(uint32_t dtype, const Shape& s, const std::vector<uint8_t>& w, const std::vector<float>& x,
                              const std::vector<float>* bias) {
    std::vector<float> y(static_cast<size_t>(s.m * s.n));
    aprhost::ref::matmul(dtype, w.data(), s.k, s.m, x.data(), s.n, bias ? bias->data() : nullptr, y.data());
    return y;
}

}  // namespace

TEST_CASE("MUL_MAT matches the reference for every weight dtype and shape", "[cpu][mul_mat]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        REQUIRE(be.ok());
        for (uint32_t dtype : kWeightDtypes) {
            uint32_t seed = 100;
            for (const Shape& s : shapes_for(dtype)) {
                INFO(variant << " " << dtype_name(dtype) << " K=" << s.k << " M=" << s.m << " N=" << s.n);
                const std::vector<uint8_t> w = make_weights(dtype, s.k, s.m, ++seed, true);
                const std::vector<float> x = randn(static_cast<size_t>(s.k * s.n), ++seed);
                bool sentinels = false;
                const std::vector<float> out = run_matmul(be, dtype, s, w, x, nullptr, 0, &sentinels);
                CHECK(sentinels);
                const double e = nmse(out, ref_matmul(dtype, s, w, x, nullptr));
                INFO("nmse vs ref " << e);
                // With a handful of outputs the NMSE of the 8-bit activation noise is a ratio of two small random
                // sums (heavy-tailed); those shapes are held to the emulated-activation check below instead.
                if (is_float_weight(dtype) || s.m * s.n >= 16)
                    CHECK(e < (is_float_weight(dtype) ? kTolFloatMatmul : kTolQuantMatmul));
            }
        }
    }
}

TEST_CASE("MUL_MAT integer dots are exact given the 8-bit activations (all code patterns)", "[cpu][mul_mat]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (uint32_t dtype : kWeightDtypes) {
            if (is_float_weight(dtype)) continue;
            uint32_t seed = 900;
            for (const Shape& s : shapes_for(dtype)) {
                for (bool realistic : {true, false}) {
                    INFO(variant << " " << dtype_name(dtype) << (realistic ? " realistic" : " random-bytes") << " K="
                                 << s.k << " M=" << s.m << " N=" << s.n);
                    const std::vector<uint8_t> w = make_weights(dtype, s.k, s.m, ++seed, realistic);
                    const std::vector<float> x = randn(static_cast<size_t>(s.k * s.n), ++seed);
                    const std::vector<float> out = run_matmul(be, dtype, s, w, x, nullptr, 0, nullptr);
                    const std::vector<float> xq = emulate_act_quant(x, s.k, is_k_quant(dtype) ? 256 : 32);
                    const double e = nmse(out, ref_matmul(dtype, s, w, xq, nullptr));
                    INFO("nmse vs emulated " << e);
                    CHECK(e < kTolQuantMatmulEmulated);
                }
            }
        }
    }
}

TEST_CASE("MUL_MAT with bias and strided activation/output views", "[cpu][mul_mat]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (uint32_t dtype : {APH_DTYPE_F16, APH_DTYPE_Q4_0, APH_DTYPE_Q5_1, APH_DTYPE_Q4_K, APH_DTYPE_Q6_K}) {
            const Shape s{is_k_quant(dtype) ? 512 : 160, 19, 6};
            INFO(variant << " " << dtype_name(dtype));
            const std::vector<uint8_t> w = make_weights(dtype, s.k, s.m, 7, true);
            const std::vector<float> x = randn(static_cast<size_t>(s.k * s.n), 8);
            const std::vector<float> bias = randn(static_cast<size_t>(s.m), 9);
            bool sentinels = false;
            const std::vector<float> out = run_matmul(be, dtype, s, w, x, &bias, 24, &sentinels);
            CHECK(sentinels);
            const double e = nmse(out, ref_matmul(dtype, s, w, x, &bias));
            INFO("nmse " << e);
            CHECK(e < (is_float_weight(dtype) ? kTolFloatMatmul : kTolQuantMatmul));
        }
    }
}

TEST_CASE("MUL_MAT rejects shapes and dtypes it cannot run", "[cpu][mul_mat]") {
    Backend be(Plugin::get("avx2"));
    Graph g(be);
    const int w_ok = g.add(APH_DTYPE_Q4_0, {64, 4});
    const int x_bad = g.add(APH_DTYPE_F32, {96, 2});
    const int d = g.add(APH_DTYPE_F32, {4, 2});
    g.node(APH_OP_MUL_MAT, {w_ok, x_bad}, d);
    const int w_q8k = g.add(APH_DTYPE_F32, {256, 4});
    g.tensor(w_q8k).dtype = APH_DTYPE_Q8_K;  // activation-only dtype: not a weight type here
    g.tensor(w_q8k).nb[0] = 292;
    const int x_ok = g.add(APH_DTYPE_F32, {256, 2});
    g.node(APH_OP_MUL_MAT, {w_q8k, x_ok}, d);
    std::string why;
    CHECK(g.supports(0, &why) == APH_STATUS_UNSUPPORTED);
    CHECK(why.find("inner sizes") != std::string::npos);
    CHECK(g.supports(1, &why) == APH_STATUS_UNSUPPORTED);
    CHECK(g.compute(&why) == APH_STATUS_UNSUPPORTED);
}
