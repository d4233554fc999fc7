// GET_ROWS, RMS_NORM, SWIGLU, GEGLU, ADD, SCALE and COPY on both variants against the reference, with odd row
// lengths (SIMD tails), several rows, strided views and ADD's row broadcast.
#include "cpu_test_harness.hpp"
#include "cpu_tolerances.hpp"

#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace cputest;

TEST_CASE("GET_ROWS dequantizes picked rows of every weight dtype exactly", "[cpu][get_rows]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (uint32_t dtype : kWeightDtypes) {
            const int64_t d = is_k_quant(dtype) ? 512 : (is_float_weight(dtype) ? 37 : 96), vocab = 11;
            INFO(variant << " " << dtype_name(dtype));
            const std::vector<uint8_t> table = make_weights(dtype, d, vocab, 3, true);
            const std::vector<int32_t> ids = {3, 0, 10, 3, 7};
            Graph g(be);
            const int tt = g.add(dtype, {d, vocab}, table.data());
            const int ti = g.add_i32(ids);
            const int td = g.add(APH_DTYPE_F32, {d, static_cast<int64_t>(ids.size())}, nullptr, 12);
            g.node(APH_OP_GET_ROWS, {tt, ti}, td);
            REQUIRE(g.compute() == APH_OK);
            std::vector<float> ref(static_cast<size_t>(d) * ids.size());
            aprhost::ref::get_rows(dtype, table.data(), d, ids.data(), static_cast<int64_t>(ids.size()), ref.data());
            CHECK(g.f32(td) == ref);
            CHECK(g.sentinels_intact());
        }
        Graph g(be);
        const int tt = g.add(APH_DTYPE_F32, {4, 3});
        const int ti = g.add_i32({1, 3});
        const int td = g.add(APH_DTYPE_F32, {4, 2});
        g.node(APH_OP_GET_ROWS, {tt, ti}, td);
        CHECK(g.compute() == APH_STATUS_INVALID_ARGUMENT);
    }
}

TEST_CASE("RMS_NORM matches the reference, with and without weight", "[cpu][rms_norm]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (int64_t d : {7, 64, 896, 1003}) {
            for (bool with_w : {true, false}) {
                INFO(variant << " d=" << d << " weight=" << with_w);
                const int64_t n = 5;
                const std::vector<float> x = randn(static_cast<size_t>(d * n), 31, 3.0f);
                const std::vector<float> w = randn(static_cast<size_t>(d), 32);
                Graph g(be);
                const int tx = g.add_f32({d, n}, x, 16);
                const int tw = with_w ? g.add_f32({d}, w) : -1;
                const int td = g.add(APH_DTYPE_F32, {d, n}, nullptr, 4);
                g.node(APH_OP_RMS_NORM, {tx, tw}, td, {}, {1e-6f});
                REQUIRE(g.compute() == APH_OK);
                std::vector<float> ref(x.size());
                aprhost::ref::rms_norm(x.data(), with_w ? w.data() : nullptr, ref.data(), d, n, 1e-6f);
                const double e = nmse(g.f32(td), ref);
                INFO("nmse " << e);
                CHECK(e < kTolElementwise);
                CHECK(g.sentinels_intact());
            }
        }
    }
}

TEST_CASE("SWIGLU and GEGLU match the reference", "[cpu][glu]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (aph_op op : {APH_OP_SWIGLU, APH_OP_GEGLU}) {
            for (int64_t d : {13, 4864}) {
                INFO(variant << " op=" << op << " d=" << d);
                const int64_t n = 3;
                // Wide range: saturated tails of exp/tanh on both sides.
                const std::vector<float> a = randn(static_cast<size_t>(d * n), 41, 6.0f);
                const std::vector<float> b = randn(static_cast<size_t>(d * n), 42);
                Graph g(be);
                const int ta = g.add_f32({d, n}, a, 8);
                const int tb = g.add_f32({d, n}, b);
                const int td = g.add(APH_DTYPE_F32, {d, n});
                g.node(op, {ta, tb}, td);
                REQUIRE(g.compute() == APH_OK);
                std::vector<float> ref(a.size());
                if (op == APH_OP_SWIGLU) aprhost::ref::swiglu(a.data(), b.data(), ref.data(), d * n);
                else aprhost::ref::geglu(a.data(), b.data(), ref.data(), d * n);
                const double e = nmse(g.f32(td), ref);
                INFO("nmse " << e);
                CHECK(e < kTolGatedActivation);
            }
        }
    }
}

TEST_CASE("ADD (same shape and row broadcast) and SCALE match the reference", "[cpu][add][scale]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        const int64_t d = 29, n = 6;
        const std::vector<float> a = randn(static_cast<size_t>(d * n), 51);
        const std::vector<float> b_full = randn(static_cast<size_t>(d * n), 52);
        const std::vector<float> b_row = randn(static_cast<size_t>(d), 53);
        for (bool broadcast : {false, true}) {
            INFO(variant << " broadcast=" << broadcast);
            Graph g(be);
            const int ta = g.add_f32({d, n}, a, 4);
            const int tb = broadcast ? g.add_f32({d, 1}, b_row) : g.add_f32({d, n}, b_full, 8);
            const int td = g.add(APH_DTYPE_F32, {d, n});
            g.node(APH_OP_ADD, {ta, tb}, td);
            REQUIRE(g.compute() == APH_OK);
            std::vector<float> ref(a.size());
            aprhost::ref::add(a.data(), broadcast ? b_row.data() : b_full.data(), ref.data(), d, n, broadcast ? 1 : n);
            CHECK(nmse(g.f32(td), ref) < kTolElementwise);
            CHECK(g.sentinels_intact());
        }
        Graph g(be);
        const int ta = g.add_f32({d, n}, a);
        g.node(APH_OP_SCALE, {ta}, ta, {}, {0.125f});  // in place
        REQUIRE(g.compute() == APH_OK);
        std::vector<float> ref(a.size());
        aprhost::ref::scale(a.data(), ref.data(), d * n, 0.125f);
        CHECK(nmse(g.f32(ta), ref) < kTolElementwise);
    }
}

TEST_CASE("COPY converts f32/f16/bf16 exactly, copies same dtypes, reshapes contiguous tensors", "[cpu][copy]") {
    const uint32_t floats[] = {APH_DTYPE_F32, APH_DTYPE_F16, APH_DTYPE_BF16};
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        const int64_t d = 45, n = 4;
        std::vector<float> x = randn(static_cast<size_t>(d * n), 61, 100.0f);
        x[3] = 65519.0f;   // rounds up to f16 inf boundary cases
        x[4] = 1e-7f;      // f16 subnormal
        x[5] = -0.0f;
        for (uint32_t s : floats) {
            for (uint32_t t : floats) {
                INFO(variant << " " << dtype_name(s) << " -> " << dtype_name(t));
                std::vector<uint8_t> src(row_bytes(s, d * n));
                aprhost::ref::quantize_row(s, x.data(), src.data(), d * n);
                Graph g(be);
                const int ts = g.add(s, {d, n}, src.data(), 8);
                const int tt = g.add(t, {d, n}, nullptr, 4);
                g.node(APH_OP_COPY, {ts}, tt);
                REQUIRE(g.compute() == APH_OK);
                std::vector<uint8_t> expect(row_bytes(t, d * n));
                aprhost::ref::copy(s, src.data(), t, expect.data(), d * n);
                CHECK(g.bytes(tt) == expect);
                CHECK(g.sentinels_intact());
            }
        }
        // Same-dtype copy of a quantized tensor, and a reshape [64, 3] → [192].
        const std::vector<uint8_t> q = make_weights(APH_DTYPE_Q4_0, 64, 3, 5, true);
        Graph g(be);
        const int ts = g.add(APH_DTYPE_Q4_0, {64, 3}, q.data());
        const int tt = g.add(APH_DTYPE_Q4_0, {192});
        g.node(APH_OP_COPY, {ts}, tt);
        REQUIRE(g.compute() == APH_OK);
        CHECK(g.bytes(tt) == q);
    }
}
