// See cuda_graph_key.hpp.
#include "cuda_graph_key.hpp"

#include <cstring>

namespace aprhost::cuda {

namespace {

uint64_t float_bits(float f) {
    uint32_t u = 0;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

void push_tensor(std::vector<uint64_t>& w, const aph_graph& g, int32_t index, bool variable_length) {
    if (index < 0 || static_cast<uint32_t>(index) >= g.n_tensors) {
        w.push_back(~uint64_t{0});
        return;
    }
    const aph_tensor& t = g.tensors[index];
    w.push_back(t.dtype);
    // A block table is 1-D and contiguous (validated): its length and the strides derived from it may change.
    for (int i = 0; i < APH_MAX_DIMS; ++i) {
        w.push_back(variable_length && i == 0 ? 0 : static_cast<uint64_t>(t.ne[i]));
        w.push_back(variable_length && i > 0 ? 0 : static_cast<uint64_t>(t.nb[i]));
    }
    w.push_back(reinterpret_cast<uintptr_t>(t.buffer));
    w.push_back(t.offset);
}

}  // namespace

GraphKey graph_structure_key(const aph_graph& g) {
    GraphKey k;
    auto& w = k.words;
    w.reserve(size_t(g.n_nodes) * 64 + 1);
    w.push_back(g.n_nodes);
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        const aph_node& n = g.nodes[i];
        const bool attention = n.op == APH_OP_ATTENTION;
        w.push_back(n.op);
        for (int p = 0; p < 8; ++p) w.push_back(attention && p == 0 ? 0 : static_cast<uint32_t>(n.iparams[p]));
        for (int p = 0; p < 8; ++p) w.push_back(float_bits(n.fparams[p]));
        for (int s = 0; s < APH_MAX_SRC; ++s) push_tensor(w, g, n.src[s], attention && s == 3);
        push_tensor(w, g, n.dst, false);
    }
    // FNV-1a over whole words (a decode graph has ~20k words; per-byte hashing would cost ~0.1 ms a step).
    uint64_t h = 1469598103934665603ull;
    for (uint64_t v : w) {
        h ^= v;
        h *= 1099511628211ull;
        h ^= h >> 29;
    }
    k.hash = h;
    return k;
}

std::vector<uint32_t> attention_nodes(const aph_graph& g) {
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < g.n_nodes; ++i)
        if (g.nodes[i].op == APH_OP_ATTENTION) out.push_back(i);
    return out;
}

}  // namespace aprhost::cuda
