// The CUDA backend's fusion plan: which adjacent nodes share one launch, and that anything doubtful stays apart.
#include "cuda_fusion.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace aprhost::cuda;

namespace {

const uintptr_t kAct = 0x1000, kIn = 0x2000, kW = 0x3000, kKc = 0x4000, kVc = 0x5000;

struct G {
    std::vector<aph_tensor> t;
    std::vector<aph_node> n;
    int32_t tensor(uint32_t dtype, std::vector<int64_t> ne, uintptr_t buf, uint64_t off) {
        aph_tensor x{};
        x.dtype = dtype;
        int64_t st = dtype == APH_DTYPE_F16 ? 2 : 4;
        for (int i = 0; i < APH_MAX_DIMS; ++i) {
            x.ne[i] = i < static_cast<int>(ne.size()) ? ne[static_cast<size_t>(i)] : 1;
            x.nb[i] = st;
            st *= x.ne[i];
        }
        x.buffer = reinterpret_cast<aph_buffer_t>(buf);
        x.offset = off;
        t.push_back(x);
        return static_cast<int32_t>(t.size() - 1);
    }
    void node(uint32_t op, std::vector<int32_t> src, int32_t dst, std::vector<int32_t> ip = {}, std::vector<float> fp = {}) {
        aph_node x{};
        x.op = op;
        for (auto& s : x.src) s = -1;
        for (size_t i = 0; i < src.size(); ++i) x.src[i] = src[i];
        x.dst = dst;
        for (size_t i = 0; i < ip.size(); ++i) x.iparams[i] = ip[i];
        for (size_t i = 0; i < fp.size(); ++i) x.fparams[i] = fp[i];
        n.push_back(x);
    }
    aph_graph graph() const {
        return aph_graph{sizeof(aph_graph), static_cast<uint32_t>(t.size()), t.data(), static_cast<uint32_t>(n.size()), n.data()};
    }
};

// The non-matmul skeleton of one decode layer, in transformer_graph.cpp's order.
G layer() {
    G g;
    const int32_t x = g.tensor(APH_DTYPE_F32, {64, 1}, kAct, 0), x2 = g.tensor(APH_DTYPE_F32, {64, 1}, kAct, 256);
    const int32_t o = g.tensor(APH_DTYPE_F32, {64, 1}, kAct, 512), xn = g.tensor(APH_DTYPE_F32, {64, 1}, kAct, 768);
    const int32_t q3 = g.tensor(APH_DTYPE_F32, {16, 4, 1}, kAct, 1024), k3 = g.tensor(APH_DTYPE_F32, {16, 2, 1}, kAct, 1280);
    const int32_t pos = g.tensor(APH_DTYPE_I32, {1}, kIn, 64), slots = g.tensor(APH_DTYPE_I32, {1}, kIn, 128);
    const int32_t kc = g.tensor(APH_DTYPE_F16, {32, 64}, kKc, 0), vc = g.tensor(APH_DTYPE_F16, {32, 64}, kVc, 0);
    const int32_t w = g.tensor(APH_DTYPE_F32, {64}, kW, 0);
    const int32_t v3 = g.tensor(APH_DTYPE_F32, {16, 2, 1}, kAct, 1536);
    const int32_t x2_again = g.tensor(APH_DTYPE_F32, {64, 1}, kAct, 256);  // another index, the same view
    g.node(APH_OP_ROPE, {q3, pos}, q3, {0, 16}, {10000.f, 1.f});       // 0
    g.node(APH_OP_ROPE, {k3, pos}, k3, {0, 16}, {10000.f, 1.f});       // 1  -> ROPE_PAIR
    g.node(APH_OP_KV_STORE, {k3, slots}, kc);                         // 2
    g.node(APH_OP_KV_STORE, {v3, slots}, vc);                         // 3  -> KV_STORE_PAIR
    g.node(APH_OP_ADD, {x, o}, x2);                                   // 4
    g.node(APH_OP_RMS_NORM, {x2_again, w}, xn, {}, {1e-6f});          // 5  -> ADD_RMS_NORM
    g.node(APH_OP_SCALE, {xn}, xn, {}, {2.f});                        // 6  single
    return g;
}

}  // namespace

TEST_CASE("cuda fusion: a decode layer's pairs are fused", "[cuda][fusion]") {
    const G g = layer();
    const auto plan = plan_launches(g.graph(), true);
    REQUIRE(plan.size() == 4);
    CHECK(plan[0].kind == LaunchKind::ROPE_PAIR);
    CHECK(plan[1].kind == LaunchKind::KV_STORE_PAIR);
    CHECK(plan[2].kind == LaunchKind::ADD_RMS_NORM);
    CHECK(plan[2].first == 4);
    CHECK(plan[3].kind == LaunchKind::SINGLE);
    const auto off = plan_launches(g.graph(), false);
    CHECK(off.size() == 7);
    for (uint32_t i = 0; i < off.size(); ++i) CHECK((off[i].kind == LaunchKind::SINGLE && off[i].first == i));
}

TEST_CASE("cuda fusion: anything doubtful stays apart", "[cuda][fusion]") {
    SECTION("the norm reads another view than the add wrote") {
        G g = layer();
        g.t[static_cast<size_t>(g.n[5].src[0])].offset = 0;  // x, not x2
        CHECK(plan_launches(g.graph(), true)[2].kind == LaunchKind::SINGLE);
    }
    SECTION("the norm writes what the add reads") {
        G g = layer();
        g.n[5].dst = g.n[4].src[1];  // norm output over o
        CHECK(plan_launches(g.graph(), true)[2].kind == LaunchKind::SINGLE);
    }
    SECTION("ropes with different positions or parameters") {
        G g = layer();
        g.n[1].fparams[0] = 500000.f;
        CHECK(plan_launches(g.graph(), true)[0].kind == LaunchKind::SINGLE);
        G h = layer();
        h.n[1].src[1] = h.n[2].src[1];  // slots instead of positions
        CHECK(plan_launches(h.graph(), true)[0].kind == LaunchKind::SINGLE);
    }
    SECTION("the second rope reads the first one's output") {
        G g = layer();
        g.n[1].src[0] = g.n[0].dst;
        g.n[1].dst = g.n[0].dst;
        CHECK(plan_launches(g.graph(), true)[0].kind == LaunchKind::SINGLE);
    }
    SECTION("kv stores into the same cache") {
        G g = layer();
        g.n[3].dst = g.n[2].dst;
        const auto plan = plan_launches(g.graph(), true);
        CHECK(plan[1].kind == LaunchKind::SINGLE);
        CHECK(plan[1].first == 2);
    }
}
