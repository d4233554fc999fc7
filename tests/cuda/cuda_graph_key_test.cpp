// The CUDA-graph structure key: equal for decode steps that differ only in n_kv and block-table length, different
// for anything a captured graph bakes in.
#include "cuda_graph_key.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace aprhost::cuda;

namespace {

aph_tensor tensor(uint32_t dtype, std::vector<int64_t> ne, uintptr_t buffer, uint64_t offset) {
    aph_tensor t{};
    t.dtype = dtype;
    t.n_dims = static_cast<uint32_t>(ne.size());
    int64_t stride = dtype == APH_DTYPE_F16 ? 2 : 4;
    for (int i = 0; i < APH_MAX_DIMS; ++i) {
        t.ne[i] = i < static_cast<int>(ne.size()) ? ne[static_cast<size_t>(i)] : 1;
        t.nb[i] = stride;
        stride *= t.ne[i];
    }
    t.buffer = reinterpret_cast<aph_buffer_t>(buffer);
    t.offset = offset;
    return t;
}

struct Step {
    std::vector<aph_tensor> tensors;
    std::vector<aph_node> nodes;
    aph_graph graph() const {
        return aph_graph{sizeof(aph_graph), static_cast<uint32_t>(tensors.size()), tensors.data(),
                         static_cast<uint32_t>(nodes.size()), nodes.data()};
    }
};

// A decode step: ROPE then ATTENTION over a table of n_blocks at kv length n_kv.
Step decode_step(int32_t n_kv, int64_t n_blocks, uint64_t q_offset = 0) {
    Step s;
    s.tensors = {tensor(APH_DTYPE_F32, {64, 4, 1}, 0x1000, q_offset), tensor(APH_DTYPE_I32, {1}, 0x2000, 0),
                 tensor(APH_DTYPE_F16, {128, 256}, 0x3000, 0), tensor(APH_DTYPE_F16, {128, 256}, 0x4000, 0),
                 tensor(APH_DTYPE_I32, {n_blocks}, 0x2000, 64), tensor(APH_DTYPE_F32, {64, 4, 1}, 0x1000, 4096)};
    aph_node rope{};
    rope.op = APH_OP_ROPE;
    for (auto& x : rope.src) x = -1;
    rope.src[0] = 0, rope.src[1] = 1, rope.dst = 0;
    rope.iparams[1] = 64;
    rope.fparams[0] = 10000.0f, rope.fparams[1] = 1.0f;
    aph_node att{};
    att.op = APH_OP_ATTENTION;
    for (auto& x : att.src) x = -1;
    att.src[0] = 0, att.src[1] = 2, att.src[2] = 3, att.src[3] = 4, att.dst = 5;
    att.iparams[0] = n_kv, att.iparams[1] = 16;
    att.fparams[0] = 0.125f;
    s.nodes = {rope, att};
    return s;
}

}  // namespace

TEST_CASE("cuda graph key: n_kv and block-table length do not change the structure", "[cuda][graph]") {
    const Step a = decode_step(17, 2), b = decode_step(40, 3);
    const GraphKey ka = graph_structure_key(a.graph()), kb = graph_structure_key(b.graph());
    CHECK(ka == kb);
    const auto att = attention_nodes(a.graph());
    REQUIRE(att.size() == 1);
    CHECK(att[0] == 1);
}

TEST_CASE("cuda graph key: addresses, shapes and parameters do", "[cuda][graph]") {
    const GraphKey base = graph_structure_key(decode_step(17, 2).graph());
    CHECK(!(graph_structure_key(decode_step(17, 2, 256).graph()) == base));  // q moved
    Step s = decode_step(17, 2);
    s.nodes[1].iparams[1] = 32;  // block size
    CHECK(!(graph_structure_key(s.graph()) == base));
    s = decode_step(17, 2);
    s.nodes[0].fparams[0] = 500000.0f;  // rope base
    CHECK(!(graph_structure_key(s.graph()) == base));
    s = decode_step(17, 2);
    s.tensors[2].dtype = APH_DTYPE_F32;  // cache dtype
    CHECK(!(graph_structure_key(s.graph()) == base));
    s = decode_step(17, 2);
    s.tensors[1].ne[0] = 2;  // positions length is structural (ROPE's grid)
    CHECK(!(graph_structure_key(s.graph()) == base));
}
