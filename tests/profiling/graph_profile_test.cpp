// The graph_profile slot (ABI 1.1) of both built cpu plugin variants: present in the vtable, computes the same
// results as graph_compute, fills one positive time per node, rejects a NULL time array; and core::Session's
// profiling mode records every node of every step.
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/backend.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/session.hpp>
#include <aprhost/core/step_graph.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

using namespace aprhost;

namespace {

// A small graph: y = W·x (f32 MUL_MAT 64×32), z = y + y, w = z · 0.5, in one buffer.
struct TinyGraph {
    std::shared_ptr<core::Buffer> buf;
    core::StepGraph g;
    uint64_t out_off = 0;
    TinyGraph(core::BackendContext& be) {
        const int64_t K = 64, M = 32;
        buf = be.alloc(uint64_t(K * M + K + 3 * M) * 4, "tiny graph");
        std::vector<float> host(size_t(K * M + K));
        for (size_t i = 0; i < host.size(); ++i) host[i] = float(int(i % 13) - 6) * 0.01f;
        buf->upload(0, host.data(), host.size() * 4);
        const uint64_t off_w = 0, off_x = uint64_t(K * M) * 4, off_y = off_x + uint64_t(K) * 4, off_z = off_y + uint64_t(M) * 4;
        out_off = off_z + uint64_t(M) * 4;
        int w = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {K, M}, buf->handle(), off_w));
        int x = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {K, 1}, buf->handle(), off_x));
        int y = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {M, 1}, buf->handle(), off_y));
        int z = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {M, 1}, buf->handle(), off_z));
        int o = g.add_tensor(core::make_tensor(APH_DTYPE_F32, {M, 1}, buf->handle(), out_off));
        g.add_node(APH_OP_MUL_MAT, {w, x}, y, "mm");
        g.add_node(APH_OP_ADD, {y, y}, z, "add");
        g.add_node(APH_OP_SCALE, {z}, o, "scale", {}, {0.5f});
    }
    std::vector<float> out() const {
        std::vector<float> v(32);
        buf->download(out_off, v.data(), v.size() * 4);
        return v;
    }
};

}  // namespace

TEST_CASE("graph_profile: both cpu variants time every node and compute like graph_compute", "[profiling]") {
    core::PluginRegistry reg(test::build_tree_plugins());
    for (const char* variant : {"cpu-avx2", "cpu-scalar"}) {
        DYNAMIC_SECTION(variant) {
            auto plugin = reg.get(APH_PLUGIN_BACKEND, variant);
            REQUIRE(plugin->abi_minor >= 1);
            REQUIRE(plugin->backend().graph_profile != nullptr);
            auto be = core::BackendContext::create(plugin, {{"threads", "1"}});
            REQUIRE(be->can_profile());
            TinyGraph t(*be);
            be->compute(t.g.view());
            const auto plain = t.out();
            // Scribble over the output, then recompute through graph_profile.
            std::vector<float> junk(32, 123.f);
            t.buf->upload(t.out_off, junk.data(), 128);
            const auto ns = be->compute_profiled(t.g.view());
            REQUIRE(ns.size() == 3);
            for (auto v : ns) CHECK(v > 0);
            CHECK(t.out() == plain);
            const auto st = be->stats();
            CHECK(st.graphs_computed == 2);
            CHECK(st.nodes_computed == 6);

            // The raw slot rejects a NULL time array with INVALID_ARGUMENT and a message.
            aph_graph view = t.g.view();
            aph_error err{};
            void* ctx = nullptr;
            REQUIRE(plugin->backend().create(nullptr, nullptr, 0, &ctx, &err) == APH_OK);
            CHECK(plugin->backend().graph_profile(ctx, &view, nullptr, &err) == APH_STATUS_INVALID_ARGUMENT);
            CHECK(std::strlen(err.message) > 0);
            plugin->backend().destroy(ctx);
        }
    }
}

TEST_CASE("Session profiling records each step's nodes with names, ops and a cost model", "[profiling]") {
    core::PluginRegistry reg(test::build_tree_plugins());
    auto be = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {{"threads", "1"}});
    core::Model model(reg, test::synth_model("qwen2", "tiny", "q4_k"), be);
    core::SessionOptions so;
    so.n_ctx = 64;
    core::Session s(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8};
    s.forward(prompt);  // not profiled
    CHECK(s.profiles().empty());
    s.set_profiling(true);
    const auto logits_ref = s.forward(std::vector<int32_t>{9});
    s.set_profiling(false);
    REQUIRE(s.profiles().size() == 1);
    const auto& p = s.profiles()[0];
    CHECK(p.n_tokens == 1);
    CHECK(p.n_kv == 9);
    REQUIRE(!p.nodes.empty());
    uint64_t sum = 0, mm_weight = 0, all_weight = 0;
    bool saw_q = false;
    for (auto& n : p.nodes) {
        CHECK(n.ns > 0);
        sum += n.ns;
        if (n.op == APH_OP_MUL_MAT) {
            CHECK(n.flops > 0);
            CHECK(n.weight_bytes > 0);
            mm_weight += n.weight_bytes;
        }
        all_weight += n.weight_bytes;
        saw_q = saw_q || n.name == "blk.0.attn_q";
    }
    CHECK(saw_q);
    CHECK(sum <= p.graph_ns);
    CHECK(p.graph_ns <= p.step_ns);
    // The cost model reads what the model description says a decoded token reads (matrices, embedding row, norms).
    const double expect = double(model.desc().weight_bytes_per_token());
    INFO("node weight bytes " << all_weight << " vs weight_bytes_per_token " << expect);
    CHECK(double(all_weight) == Approx(expect).epsilon(0.02));
    CHECK(mm_weight > 0);
}
