// ROPE, KV_STORE and ATTENTION on both variants against the reference: NORM/NEOX with partial n_rot, in-place and
// strided views; f32/f16 caches written through scattered slots; paged block tables (shuffled blocks, block sizes
// that do not divide n_kv), GQA ratios 1 and 7, head_dim with and without a SIMD tail, causal batches.
#include "cpu_test_harness.hpp"
#include "cpu_tolerances.hpp"

#include <aprhost/reference/fp16.hpp>
#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace cputest;

TEST_CASE("ROPE matches the reference (NORM/NEOX, partial n_rot, in place, views)", "[cpu][rope]") {
    struct Case {
        int mode;
        int64_t head_dim, heads, n, n_rot;
        float base, scale;
        bool in_place;
    };
    const Case cases[] = {{APH_ROPE_NORM, 64, 3, 5, 64, 10000.0f, 1.0f, false},
                          {APH_ROPE_NEOX, 64, 14, 1, 64, 1000000.0f, 1.0f, true},
                          {APH_ROPE_NEOX, 40, 2, 7, 24, 10000.0f, 0.5f, false},
                          {APH_ROPE_NORM, 36, 4, 3, 20, 500000.0f, 0.25f, true}};
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (const Case& c : cases) {
            INFO(variant << " mode=" << c.mode << " head_dim=" << c.head_dim << " n_rot=" << c.n_rot
                         << " in_place=" << c.in_place);
            const std::vector<float> x = randn(static_cast<size_t>(c.head_dim * c.heads * c.n), 11);
            std::vector<int32_t> pos(static_cast<size_t>(c.n));
            for (int64_t j = 0; j < c.n; ++j) pos[static_cast<size_t>(j)] = static_cast<int32_t>(j * 997 % 4099);
            Graph g(be);
            const int tx = g.add_f32({c.head_dim, c.heads, c.n}, x, c.in_place ? 0 : 12, c.in_place ? 0 : 20);
            const int tp = g.add_i32(pos);
            const int td = c.in_place ? tx : g.add(APH_DTYPE_F32, {c.head_dim, c.heads, c.n}, nullptr, 8);
            g.node(APH_OP_ROPE, {tx, tp}, td, {c.mode, static_cast<int32_t>(c.n_rot)}, {c.base, c.scale});
            REQUIRE(g.compute() == APH_OK);
            std::vector<float> ref = x;
            aprhost::ref::rope(ref.data(), c.head_dim, c.heads, c.n, pos.data(), c.mode, c.n_rot, c.base, c.scale);
            const double e = nmse(g.f32(td), ref);
            INFO("nmse " << e);
            CHECK(e < kTolElementwise);
            CHECK(g.sentinels_intact());
        }
    }
}

TEST_CASE("KV_STORE writes f32/f16 rows at the given slots, bit-exact", "[cpu][kv_store]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        for (uint32_t cache_dtype : {APH_DTYPE_F32, APH_DTYPE_F16}) {
            for (bool per_head : {true, false}) {
                INFO(variant << " cache=" << dtype_name(cache_dtype) << " per_head=" << per_head);
                const int64_t head_dim = 36, kv_heads = 2, n = 5, slots = 23;
                const std::vector<float> src = randn(static_cast<size_t>(head_dim * kv_heads * n), 21);
                const std::vector<int32_t> where = {7, 0, 22, 13, 8};
                const std::vector<float> init = randn(static_cast<size_t>(head_dim * kv_heads * slots), 22);
                std::vector<uint8_t> cache0(row_bytes(cache_dtype, head_dim * kv_heads) * slots);
                aprhost::ref::quantize_row(cache_dtype, init.data(), cache0.data(), head_dim * kv_heads * slots);
                Graph g(be);
                const int ts = per_head ? g.add_f32({head_dim, kv_heads, n}, src, 4)
                                        : g.add_f32({head_dim * kv_heads, n}, src, 4);
                const int tw = g.add_i32(where);
                const int tc = g.add(cache_dtype, {head_dim * kv_heads, slots}, cache0.data());
                g.node(APH_OP_KV_STORE, {ts, tw}, tc);
                REQUIRE(g.compute() == APH_OK);
                std::vector<uint8_t> expect = cache0;
                aprhost::ref::kv_store(src.data(), head_dim * kv_heads, n, where.data(), cache_dtype, expect.data());
                CHECK(g.bytes(tc) == expect);
                CHECK(g.sentinels_intact());
            }
        }
        // A slot outside the cache is an error, not a silent write.
        Graph g(be);
        const int ts = g.add_f32({8, 1}, randn(8, 1));
        const int tw = g.add_i32({4});
        const int tc = g.add(APH_DTYPE_F32, {8, 4});
        g.node(APH_OP_KV_STORE, {ts, tw}, tc);
        std::string err;
        CHECK(g.compute(&err) == APH_STATUS_INVALID_ARGUMENT);
        CHECK(err.find("slot") != std::string::npos);
    }
}

namespace {

struct AttnCase {
    int64_t head_dim, heads, kv_heads, n, n_kv, block_size;
    uint32_t cache_dtype;
};

// A paged cache with shuffled blocks: returns the cache bytes, the block table, and dense f32 K or V rows.
struct PagedKv {
    std::vector<uint8_t> k_cache, v_cache;
    std::vector<int32_t> table;
    int64_t slots;
};

PagedKv make_paged_kv(const AttnCase& c, uint32_t seed) {
    PagedKv p;
    const int64_t row = c.head_dim * c.kv_heads;
    const int64_t need = (c.n_kv + c.block_size - 1) / c.block_size;
    const int64_t total_blocks = need + 3;  // spare blocks the table does not use
    p.slots = total_blocks * c.block_size;
    std::vector<int32_t> blocks(static_cast<size_t>(total_blocks));
    std::iota(blocks.begin(), blocks.end(), 0);
    std::shuffle(blocks.begin(), blocks.end(), std::mt19937(seed));
    p.table.assign(blocks.begin(), blocks.begin() + need);
    const std::vector<float> k = randn(static_cast<size_t>(row * p.slots), seed + 1);
    const std::vector<float> v = randn(static_cast<size_t>(row * p.slots), seed + 2);
    p.k_cache.resize(row_bytes(c.cache_dtype, row) * p.slots);
    p.v_cache.resize(p.k_cache.size());
    aprhost::ref::quantize_row(c.cache_dtype, k.data(), p.k_cache.data(), row * p.slots);
    aprhost::ref::quantize_row(c.cache_dtype, v.data(), p.v_cache.data(), row * p.slots);
    return p;
}

}  // namespace

TEST_CASE("ATTENTION matches the reference (GQA 1 and 7, paged, f32/f16 cache, causal batches)", "[cpu][attention]") {
    const AttnCase cases[] = {
        {64, 4, 4, 1, 1, 16, APH_DTYPE_F32},  {64, 14, 2, 1, 37, 16, APH_DTYPE_F16},
        {64, 14, 2, 5, 37, 5, APH_DTYPE_F32}, {36, 7, 1, 6, 6, 4, APH_DTYPE_F16},
        {40, 4, 4, 9, 70, 32, APH_DTYPE_F16}, {128, 14, 2, 3, 130, 16, APH_DTYPE_F32},
    };
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        uint32_t seed = 40;
        for (const AttnCase& c : cases) {
            INFO(variant << " head_dim=" << c.head_dim << " heads=" << c.heads << "/" << c.kv_heads << " n=" << c.n
                         << " n_kv=" << c.n_kv << " bs=" << c.block_size << " cache=" << dtype_name(c.cache_dtype));
            const PagedKv p = make_paged_kv(c, seed += 10);
            const std::vector<float> q = randn(static_cast<size_t>(c.head_dim * c.heads * c.n), seed + 5);
            const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
            Graph g(be);
            const int64_t row = c.head_dim * c.kv_heads;
            const int tq = g.add_f32({c.head_dim, c.heads, c.n}, q, 8, 16);
            const int tk = g.add(c.cache_dtype, {row, p.slots}, p.k_cache.data());
            const int tv = g.add(c.cache_dtype, {row, p.slots}, p.v_cache.data());
            const int tt = g.add_i32(p.table);
            const int td = g.add(APH_DTYPE_F32, {c.head_dim, c.heads, c.n}, nullptr, 4);
            g.node(APH_OP_ATTENTION, {tq, tk, tv, tt}, td,
                   {static_cast<int32_t>(c.n_kv), static_cast<int32_t>(c.block_size)}, {scale});
            std::string err;
            REQUIRE(g.compute(&err) == APH_OK);
            std::vector<float> kd(static_cast<size_t>(row * c.n_kv)), vd(kd.size()), out(q.size());
            aprhost::ref::gather_kv_rows(c.cache_dtype, p.k_cache.data(), row, p.table.data(), c.block_size, c.n_kv,
                                         kd.data());
            aprhost::ref::gather_kv_rows(c.cache_dtype, p.v_cache.data(), row, p.table.data(), c.block_size, c.n_kv,
                                         vd.data());
            aprhost::ref::attention(q.data(), kd.data(), vd.data(), c.head_dim, c.heads, c.kv_heads, c.n, c.n_kv, scale,
                                    out.data());
            const double e = nmse(g.f32(td), out);
            INFO("nmse " << e);
            CHECK(e < kTolAttention);
            CHECK(g.sentinels_intact());
        }
    }
}

TEST_CASE("ATTENTION rejects bad block tables and shapes", "[cpu][attention]") {
    Backend be(Plugin::get("avx2"));
    Graph g(be);
    const int tq = g.add_f32({8, 3, 1}, randn(24, 1));
    const int tk = g.add(APH_DTYPE_F32, {16, 8});  // 2 kv heads: 3 heads is not a multiple
    const int tt = g.add_i32({0, 1});
    const int td = g.add(APH_DTYPE_F32, {8, 3, 1});
    g.node(APH_OP_ATTENTION, {tq, tk, tk, tt}, td, {5, 4}, {1.0f});
    std::string why;
    CHECK(g.supports(0, &why) == APH_STATUS_UNSUPPORTED);
    CHECK(why.find("multiple") != std::string::npos);

    Graph g2(be);
    const int q2 = g2.add_f32({8, 2, 1}, randn(16, 2));
    const int k2 = g2.add(APH_DTYPE_F32, {16, 8});
    const int t2 = g2.add_i32({0, 5});  // block 5 of size 4 = slots 20..23, past the 8 slots
    const int d2 = g2.add(APH_DTYPE_F32, {8, 2, 1});
    g2.node(APH_OP_ATTENTION, {q2, k2, k2, t2}, d2, {6, 4}, {1.0f});
    CHECK(g2.supports(0) == APH_OK);
    CHECK(g2.compute(&why) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(why.find("block table") != std::string::npos);
}
