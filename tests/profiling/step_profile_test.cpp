// The step cost model (describe_step) on hand-built graphs: weight vs activation bytes, MUL_MAT and ATTENTION
// flops, GET_ROWS reading only the picked rows, and layer_of.
#include <aprhost/core/model.hpp>
#include <aprhost/core/step_graph.hpp>
#include <aprhost/core/step_profile.hpp>

#include <catch2/catch.hpp>

using namespace aprhost;

namespace {
aph_buffer_t fake(uintptr_t v) { return reinterpret_cast<aph_buffer_t>(v); }
}  // namespace

TEST_CASE("describe_step: bytes and flops of mul_mat, get_rows and attention", "[profiling]") {
    const aph_buffer_t weights = fake(0x10), inputs = fake(0x20), acts = fake(0x30), kcache = fake(0x40);
    core::StepGraph g;
    // MUL_MAT: W [in 256, out 64] q8_0 × x [256, n 4] f32 + bias [64].
    int w = g.add_tensor(core::make_tensor(APH_DTYPE_Q8_0, {256, 64}, weights, 0));
    int x = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {256, 4}, acts, 0));
    int b = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {64}, weights, 1 << 20));
    int y = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {64, 4}, acts, 1 << 16));
    g.add_node(APH_OP_MUL_MAT, {w, x, b}, y, "blk.7.attn_q");
    // GET_ROWS: 3 rows of an f16 table [128, 1000].
    int tab = g.add_tensor(core::make_tensor(APH_DTYPE_F16, {128, 1000}, weights, 2 << 20));
    int ids = g.add_tensor(core::make_tensor(APH_DTYPE_I32, {3}, inputs, 0));
    int rows = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {128, 3}, acts, 2 << 16));
    g.add_node(APH_OP_GET_ROWS, {tab, ids}, rows, "token_embd");
    // ATTENTION: q [hd 8, heads 2, n 2], caches [16, 100 slots] f32, n_kv 10.
    int q = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {8, 2, 2}, acts, 3 << 16));
    int kc = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {16, 100}, kcache, 0));
    int vc = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {16, 100}, kcache, 1 << 16));
    int tbl = g.add_tensor(core::make_tensor(APH_DTYPE_I32, {1}, inputs, 64));
    int att = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {8, 2, 2}, acts, 4 << 16));
    g.add_node(APH_OP_ATTENTION, {q, kc, vc, tbl}, att, "blk.7.attention", {10, 100}, {0.35f});

    const auto sp = core::describe_step(g.view(), {100, 200, 300}, inputs, acts);
    REQUIRE(sp.nodes.size() == 3);
    const auto& mm = sp.nodes[0];
    CHECK(mm.ns == 100);
    CHECK(mm.weight_bytes == 64 * (256 / 32) * 34 + 64 * 4);  // q8_0 rows + f32 bias
    CHECK(mm.act_bytes == 256 * 4 * 4 + 64 * 4 * 4);
    CHECK(mm.flops == 2ull * 256 * 64 * 4 + 64 * 4);
    const auto& gr = sp.nodes[1];
    CHECK(gr.weight_bytes == 3 * 128 * 2);  // only the picked rows
    CHECK(gr.act_bytes == 3 * 4 + 128 * 3 * 4);
    const auto& at = sp.nodes[2];
    CHECK(at.weight_bytes == 0);
    // Queries see 9 and 10 entries: 4·hd·heads·19 flops; K and V read for 10 entries of 16 floats.
    CHECK(at.flops == 4ull * 8 * 2 * 19);
    CHECK(at.act_bytes == 8 * 2 * 2 * 4 + 2 * 10 * 16 * 4 + 4 + 8 * 2 * 2 * 4);
    CHECK(sp.n_kv == 10);

    CHECK(core::layer_of("blk.7.attn_q") == 7);
    CHECK(core::layer_of("blk.12.ffn_down") == 12);
    CHECK(core::layer_of("token_embd") == -1);
    CHECK(core::layer_of("blk.x") == -1);
}
