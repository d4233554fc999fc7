// The numerical invariants the KV-cache parity of the whole engine rests on (max |Δlogit| ≤ 1e-5 on CPU):
//  * MUL_MAT column j is bit-identical whether computed alone (N = 1) or anywhere inside a batch;
//  * ATTENTION query j is bit-identical in a batch and alone (with the matching n_kv);
//  * results do not depend on the thread count (1, 2, 3);
//  * end to end: a tiny decoder layer stack run as one prefill batch and token by token with the cache gives
//    bit-identical logits.
#include "cpu_test_harness.hpp"
#include "cpu_tolerances.hpp"

#include <aprhost/reference/quantize.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace cputest;

namespace {

// dst = W·X on a fresh graph; X is given densely [n][k].
std::vector<float> matmul_cols(Backend& be, uint32_t dtype, int64_t k, int64_t m, const std::vector<uint8_t>& w,
                               const float* x, int64_t n) {
    Graph g(be);
    const int tw = g.add(dtype, {k, m}, w.data());
    const int tx = g.add(APH_DTYPE_F32, {k, n}, x);
    const int td = g.add(APH_DTYPE_F32, {m, n});
    g.node(APH_OP_MUL_MAT, {tw, tx}, td);
    REQUIRE(g.compute() == APH_OK);
    return g.f32(td);
}

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

}  // namespace

TEST_CASE("MUL_MAT: a column's result is bit-identical alone and in any batch position", "[cpu][invariant]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (uint32_t dtype : kWeightDtypes) {
            const int64_t k = is_float_weight(dtype) ? 203 : (is_k_quant(dtype) ? 512 : 160), m = 45, n = 11;
            INFO(variant << " " << dtype_name(dtype));
            const std::vector<uint8_t> w = make_weights(dtype, k, m, 77, true);
            const std::vector<float> x = randn(static_cast<size_t>(k * n), 78);
            const std::vector<float> batch = matmul_cols(be, dtype, k, m, w, x.data(), n);
            // Every column alone.
            for (int64_t j = 0; j < n; ++j) {
                const std::vector<float> one = matmul_cols(be, dtype, k, m, w, x.data() + j * k, 1);
                INFO("column " << j);
                CHECK(same_bits(one.data(), batch.data() + j * m, static_cast<size_t>(m)));
            }
            // The same columns split 5 + 6 (different tile positions).
            const std::vector<float> a = matmul_cols(be, dtype, k, m, w, x.data(), 5);
            const std::vector<float> b = matmul_cols(be, dtype, k, m, w, x.data() + 5 * k, 6);
            CHECK(same_bits(a.data(), batch.data(), static_cast<size_t>(5 * m)));
            CHECK(same_bits(b.data(), batch.data() + 5 * m, static_cast<size_t>(6 * m)));
        }
    }
}

TEST_CASE("MUL_MAT: large batches (activations quantized by all threads) keep per-column bits", "[cpu][invariant]") {
    // ncols·K above the backend's serial-quantization limit (64Ki elements): the parallel path must give the same
    // blocks as quantizing one column alone.
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (uint32_t dtype : {APH_DTYPE_Q4_0, APH_DTYPE_Q8_0, APH_DTYPE_Q4_K, APH_DTYPE_Q6_K}) {
            const int64_t k = 2048, m = 8, n = 40;
            INFO(variant << " " << dtype_name(dtype));
            const std::vector<uint8_t> w = make_weights(dtype, k, m, 91, true);
            const std::vector<float> x = randn(static_cast<size_t>(k * n), 92);
            const std::vector<float> batch = matmul_cols(be, dtype, k, m, w, x.data(), n);
            for (int64_t j : {0, 17, 39}) {
                const std::vector<float> one = matmul_cols(be, dtype, k, m, w, x.data() + j * k, 1);
                INFO("column " << j);
                CHECK(same_bits(one.data(), batch.data() + j * m, static_cast<size_t>(m)));
            }
        }
    }
}

TEST_CASE("ATTENTION: query j is bit-identical in a batch and alone", "[cpu][invariant]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (uint32_t cache_dtype : {APH_DTYPE_F32, APH_DTYPE_F16}) {
            // n_kv spans several of the kernels' 64-row blocks and ends mid-block and mid 8-row group.
            const int64_t hd = 64, heads = 14, kvh = 2, n = 6, n_kv = 151, bs = 4, slots = 160;
            INFO(variant << " cache=" << dtype_name(cache_dtype));
            const int64_t row = hd * kvh;
            const std::vector<float> kf = randn(static_cast<size_t>(row * slots), 81);
            const std::vector<float> vf = randn(static_cast<size_t>(row * slots), 82);
            std::vector<uint8_t> kc(row_bytes(cache_dtype, row) * slots), vc(kc.size());
            aprhost::ref::quantize_row(cache_dtype, kf.data(), kc.data(), row * slots);
            aprhost::ref::quantize_row(cache_dtype, vf.data(), vc.data(), row * slots);
            std::vector<int32_t> table(static_cast<size_t>(slots / bs));
            std::iota(table.begin(), table.end(), 0);
            std::shuffle(table.begin(), table.end(), std::mt19937(84));
            const std::vector<float> q = randn(static_cast<size_t>(hd * heads * n), 83);
            auto run = [&](const float* qp, int64_t nq, int64_t nkv) {
                Graph g(be);
                const int tq = g.add(APH_DTYPE_F32, {hd, heads, nq}, qp);
                const int tk = g.add(cache_dtype, {row, slots}, kc.data());
                const int tv = g.add(cache_dtype, {row, slots}, vc.data());
                const int tt = g.add_i32(table);
                const int td = g.add(APH_DTYPE_F32, {hd, heads, nq});
                g.node(APH_OP_ATTENTION, {tq, tk, tv, tt}, td, {static_cast<int32_t>(nkv), static_cast<int32_t>(bs)},
                       {0.125f});
                REQUIRE(g.compute() == APH_OK);
                return g.f32(td);
            };
            const std::vector<float> batch = run(q.data(), n, n_kv);
            for (int64_t j = 0; j < n; ++j) {
                const std::vector<float> one = run(q.data() + j * hd * heads, 1, n_kv - n + j + 1);
                INFO("query " << j);
                CHECK(same_bits(one.data(), batch.data() + j * hd * heads, static_cast<size_t>(hd * heads)));
            }
        }
    }
}

TEST_CASE("Results do not depend on the thread count (1, 2, 3)", "[cpu][invariant]") {
    for (const char* variant : kVariants) {
        std::vector<std::vector<float>> results;
        for (const char* threads : {"1", "2", "3"}) {
            Backend be(Plugin::get(variant), {{"threads", threads}});
            REQUIRE(be.ok());
            std::vector<float> all;
            for (uint32_t dtype : kWeightDtypes) {
                const int64_t k = is_float_weight(dtype) ? 1003 : 1024, m = 300, n = 9;
                const std::vector<uint8_t> w = make_weights(dtype, k, m, 5, true);
                const std::vector<float> x = randn(static_cast<size_t>(k * n), 6);
                const std::vector<float> r = matmul_cols(be, dtype, k, m, w, x.data(), n);
                all.insert(all.end(), r.begin(), r.end());
            }
            // Attention large enough to be split across threads.
            const int64_t hd = 64, heads = 14, kvh = 2, n = 8, n_kv = 200;
            const std::vector<float> kv = randn(static_cast<size_t>(hd * kvh * n_kv), 7);
            const std::vector<float> q = randn(static_cast<size_t>(hd * heads * n), 8);
            std::vector<int32_t> table(static_cast<size_t>(n_kv / 8));
            std::iota(table.begin(), table.end(), 0);
            Graph g(be);
            const int tq = g.add_f32({hd, heads, n}, q);
            const int tk = g.add_f32({hd * kvh, n_kv}, kv);
            const int tt = g.add_i32(table);
            const int td = g.add(APH_DTYPE_F32, {hd, heads, n});
            g.node(APH_OP_ATTENTION, {tq, tk, tk, tt}, td, {static_cast<int32_t>(n_kv), 8}, {0.125f});
            REQUIRE(g.compute() == APH_OK);
            const std::vector<float> r = g.f32(td);
            all.insert(all.end(), r.begin(), r.end());
            results.push_back(std::move(all));
        }
        INFO(variant);
        REQUIRE(results[0].size() == results[1].size());
        CHECK(same_bits(results[0].data(), results[1].data(), results[0].size()));
        CHECK(same_bits(results[0].data(), results[2].data(), results[0].size()));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// End to end: one decoder layer (Qwen2-style: q/k/v bias, NEOX rope, GQA, SwiGLU) + output head, paged f16 cache.
// ---------------------------------------------------------------------------------------------------------------

namespace {

constexpr int64_t kD = 256, kHeads = 8, kKvHeads = 2, kHd = 32, kFfn = 512, kVocab = 64, kBlock = 4, kSlots = 64;

struct TinyModel {
    explicit TinyModel(Backend& be) : g(be) {
        embd = w(APH_DTYPE_Q6_K, kD, kVocab, 1);
        wq = w(APH_DTYPE_Q4_K, kD, kD, 2);
        wk = w(APH_DTYPE_Q5_K, kD, kHd * kKvHeads, 3);
        wv = w(APH_DTYPE_Q6_K, kD, kHd * kKvHeads, 4);
        wo = w(APH_DTYPE_Q4_0, kD, kD, 5);
        wg = w(APH_DTYPE_Q4_1, kD, kFfn, 6);
        wu = w(APH_DTYPE_Q5_1, kD, kFfn, 7);
        wd = w(APH_DTYPE_Q8_0, kFfn, kD, 8);
        wout = w(APH_DTYPE_F16, kD, kVocab, 9);
        bq = g.add_f32({kD}, randn(kD, 10, 0.1f));
        bk = g.add_f32({kHd * kKvHeads}, randn(kHd * kKvHeads, 11, 0.1f));
        bv = g.add_f32({kHd * kKvHeads}, randn(kHd * kKvHeads, 12, 0.1f));
        std::vector<float> ones(kD);
        for (auto& x : ones) x = 1.0f + 0.1f * std::sin(static_cast<float>(&x - ones.data()));
        n1 = g.add_f32({kD}, ones);
        n2 = g.add_f32({kD}, ones);
        n3 = g.add_f32({kD}, ones);
        kc = g.add(APH_DTYPE_F16, {kHd * kKvHeads, kSlots});
        vc = g.add(APH_DTYPE_F16, {kHd * kKvHeads, kSlots});
    }
    int w(uint32_t dtype, int64_t k, int64_t m, uint32_t seed) {
        const std::vector<uint8_t> bytes = make_weights(dtype, k, m, seed, true);
        return g.add(dtype, {k, m}, bytes.data());
    }
    void clear_cache() {
        const std::vector<uint8_t> zeros(row_bytes(APH_DTYPE_F16, kHd * kKvHeads) * kSlots, 0);
        g.set(kc, zeros.data());
        g.set(vc, zeros.data());
    }

    Graph g;  // holds the weights and the caches; step graphs import them
    int embd, wq, wk, wv, wo, wg, wu, wd, wout, bq, bk, bv, n1, n2, n3, kc, vc;
    const std::vector<int32_t> table = {9, 2, 14, 0, 5, 11, 3, 7, 1, 12, 4, 6, 8, 10, 13, 15};
};

// Runs tokens[pos0 .. pos0+n) as one step; returns logits [n][vocab].
std::vector<float> run_step(Backend& be, TinyModel& mdl, const std::vector<int32_t>& tokens, int64_t pos0, int64_t n) {
    Graph g(be);
    auto imp = [&](int t) { return g.import(mdl.g, t); };
    std::vector<int32_t> ids(tokens.begin() + pos0, tokens.begin() + pos0 + n), pos(static_cast<size_t>(n)),
        slots(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
        const int64_t p = pos0 + j;
        pos[static_cast<size_t>(j)] = static_cast<int32_t>(p);
        slots[static_cast<size_t>(j)] = static_cast<int32_t>(mdl.table[static_cast<size_t>(p / kBlock)] * kBlock + p % kBlock);
    }
    const int t_ids = g.add_i32(ids), t_pos = g.add_i32(pos), t_slots = g.add_i32(slots), t_tab = g.add_i32(mdl.table);
    const int kc = imp(mdl.kc), vc = imp(mdl.vc);
    auto f32 = [&](int64_t a, int64_t b) { return g.add(APH_DTYPE_F32, {a, b}); };
    const int x = f32(kD, n), h = f32(kD, n), q = f32(kD, n), k = f32(kHd * kKvHeads, n), v = f32(kHd * kKvHeads, n);
    const int attn = g.add(APH_DTYPE_F32, {kHd, kHeads, n});
    const int o = f32(kD, n), x2 = f32(kD, n), h2 = f32(kD, n), gate = f32(kFfn, n), up = f32(kFfn, n),
              act = f32(kFfn, n), down = f32(kD, n), x3 = f32(kD, n), hn = f32(kD, n), logits = f32(kVocab, n);
    const int q3 = g.reshape(q, {kHd, kHeads, n}), k3 = g.reshape(k, {kHd, kKvHeads, n});
    const int attn2 = g.reshape(attn, {kD, n});
    g.node(APH_OP_GET_ROWS, {imp(mdl.embd), t_ids}, x);
    g.node(APH_OP_RMS_NORM, {x, imp(mdl.n1)}, h, {}, {1e-6f});
    g.node(APH_OP_MUL_MAT, {imp(mdl.wq), h, imp(mdl.bq)}, q);
    g.node(APH_OP_MUL_MAT, {imp(mdl.wk), h, imp(mdl.bk)}, k);
    g.node(APH_OP_MUL_MAT, {imp(mdl.wv), h, imp(mdl.bv)}, v);
    g.node(APH_OP_ROPE, {q3, t_pos}, q3, {APH_ROPE_NEOX, kHd}, {1000000.0f, 1.0f});
    g.node(APH_OP_ROPE, {k3, t_pos}, k3, {APH_ROPE_NEOX, kHd}, {1000000.0f, 1.0f});
    g.node(APH_OP_KV_STORE, {k3, t_slots}, kc);
    g.node(APH_OP_KV_STORE, {v, t_slots}, vc);
    g.node(APH_OP_ATTENTION, {q3, kc, vc, t_tab}, attn, {static_cast<int32_t>(pos0 + n), kBlock},
           {1.0f / std::sqrt(static_cast<float>(kHd))});
    g.node(APH_OP_MUL_MAT, {imp(mdl.wo), attn2}, o);
    g.node(APH_OP_ADD, {x, o}, x2);
    g.node(APH_OP_RMS_NORM, {x2, imp(mdl.n2)}, h2, {}, {1e-6f});
    g.node(APH_OP_MUL_MAT, {imp(mdl.wg), h2}, gate);
    g.node(APH_OP_MUL_MAT, {imp(mdl.wu), h2}, up);
    g.node(APH_OP_SWIGLU, {gate, up}, act);
    g.node(APH_OP_MUL_MAT, {imp(mdl.wd), act}, down);
    g.node(APH_OP_ADD, {x2, down}, x3);
    g.node(APH_OP_RMS_NORM, {x3, imp(mdl.n3)}, hn, {}, {1e-6f});
    g.node(APH_OP_MUL_MAT, {imp(mdl.wout), hn}, logits);
    std::string err;
    const aph_status st = g.compute(&err);
    INFO(err);
    REQUIRE(st == APH_OK);
    return g.f32(logits);
}

}  // namespace

TEST_CASE("End to end: prefill batch and token-by-token decode give bit-identical logits", "[cpu][invariant]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        TinyModel mdl(be);
        std::vector<int32_t> tokens(13);
        for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 37 + 5) % kVocab);
        const int64_t total = static_cast<int64_t>(tokens.size());

        mdl.clear_cache();
        const std::vector<float> prefill = run_step(be, mdl, tokens, 0, total);

        mdl.clear_cache();
        std::vector<float> decode;
        for (int64_t p = 0; p < total; ++p) {
            const std::vector<float> l = run_step(be, mdl, tokens, p, 1);
            decode.insert(decode.end(), l.begin(), l.end());
        }

        mdl.clear_cache();
        std::vector<float> mixed = run_step(be, mdl, tokens, 0, 5);  // prefill 5, then a batch of 6, then 2 decodes
        for (auto [p0, n] : {std::pair<int64_t, int64_t>{5, 6}, {11, 1}, {12, 1}}) {
            const std::vector<float> l = run_step(be, mdl, tokens, p0, n);
            mixed.insert(mixed.end(), l.begin(), l.end());
        }

        INFO(variant);
        REQUIRE(prefill.size() == decode.size());
        float max_abs = 0.0f;
        for (size_t i = 0; i < prefill.size(); ++i) max_abs = std::max(max_abs, std::fabs(prefill[i] - decode[i]));
        INFO("max |prefill - decode| = " << max_abs);
        CHECK(same_bits(prefill.data(), decode.data(), prefill.size()));
        CHECK(same_bits(prefill.data(), mixed.data(), prefill.size()));
        // Sanity: the logits are not degenerate.
        double energy = 0.0;
        for (float v : prefill) energy += static_cast<double>(v) * v;
        CHECK(energy > 1e-3);
    }
}
