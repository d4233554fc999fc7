#include <aprhost/core/dtype.hpp>
#include <aprhost/core/step_profile.hpp>

#include <algorithm>
#include <cstdlib>

namespace aprhost::core {

uint64_t tensor_bytes(const aph_tensor& t) {
    // Row bytes from the dtype (nb[0] of a block-quantized tensor is the block size, not an element stride).
    uint64_t bytes = dtype_row_bytes(t.dtype, t.ne[0]).value_or(uint64_t(t.ne[0]) * uint64_t(t.nb[0]));
    for (int d = 1; d < APH_MAX_DIMS; ++d)
        if (t.ne[d] > 1) bytes = std::max(bytes, uint64_t(t.ne[d]) * uint64_t(t.nb[d]));
    return bytes;
}

int layer_of(const std::string& name) {
    if (name.rfind("blk.", 0) != 0) return -1;
    char* end = nullptr;
    long v = std::strtol(name.c_str() + 4, &end, 10);
    return end && *end == '.' && v >= 0 ? int(v) : -1;
}

namespace {

uint64_t elements(const aph_tensor& t) {
    uint64_t n = 1;
    for (int d = 0; d < APH_MAX_DIMS; ++d) n *= uint64_t(std::max<int64_t>(t.ne[d], 1));
    return n;
}

}  // namespace

StepProfile describe_step(const aph_graph& g, const std::vector<uint64_t>& node_ns, aph_buffer_t inputs,
                          aph_buffer_t activations) {
    StepProfile sp;
    sp.nodes.reserve(g.n_nodes);
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        const aph_node& nd = g.nodes[i];
        NodeProfile np;
        np.name = nd.name ? nd.name : "";
        np.op = nd.op;
        np.ns = i < node_ns.size() ? node_ns[i] : 0;
        const aph_tensor& dst = g.tensors[size_t(nd.dst)];
        auto src = [&](int s) -> const aph_tensor* { return nd.src[s] >= 0 ? &g.tensors[size_t(nd.src[s])] : nullptr; };
        auto is_kv = [&](int s) {
            return (nd.op == APH_OP_ATTENTION && (s == 1 || s == 2));
        };
        auto is_weight = [&](const aph_tensor& t, int s) {
            return t.buffer != inputs && t.buffer != activations && !is_kv(s);
        };
        const uint64_t n_cols = uint64_t(std::max<int64_t>(dst.ne[1], 1)) * uint64_t(std::max<int64_t>(dst.ne[2], 1));
        for (int s = 0; s < APH_MAX_SRC; ++s) {
            const aph_tensor* t = src(s);
            if (!t) continue;
            uint64_t b = tensor_bytes(*t);
            if (nd.op == APH_OP_GET_ROWS && s == 0) {
                // Only the picked rows are read.
                const aph_tensor* ids = src(1);
                b = ids ? uint64_t(std::max<int64_t>(ids->ne[0], 1)) * uint64_t(t->nb[1]) : b;
            } else if (is_kv(s)) {
                // The sequence's n_kv entries, not the whole cache.
                b = uint64_t(std::max(nd.iparams[0], 0)) * uint64_t(t->nb[1]);
            }
            if (is_weight(*t, s)) np.weight_bytes += b;
            else np.act_bytes += b;
        }
        // KV_STORE writes n rows of the cache, not the whole cache tensor.
        if (nd.op == APH_OP_KV_STORE && src(0)) np.act_bytes += tensor_bytes(*src(0));
        else np.act_bytes += tensor_bytes(dst);

        switch (nd.op) {
            case APH_OP_MUL_MAT: {
                const aph_tensor& w = *src(0);
                np.flops = 2ull * uint64_t(w.ne[0]) * uint64_t(w.ne[1]) * n_cols;
                if (src(2)) np.flops += uint64_t(w.ne[1]) * n_cols;
                break;
            }
            case APH_OP_ATTENTION: {
                const aph_tensor& q = *src(0);
                const uint64_t hd = uint64_t(q.ne[0]), heads = uint64_t(q.ne[1]), n = uint64_t(q.ne[2]);
                const uint64_t n_kv = uint64_t(std::max(nd.iparams[0], 0));
                // Query j sees n_kv - n + j + 1 entries: QK^T and PV are 2·hd flops per (query, entry, head) each.
                const uint64_t visible = n * (n_kv - std::min(n, n_kv)) + n * (n + 1) / 2;
                np.flops = 4ull * hd * heads * visible;
                sp.n_kv = std::max<uint32_t>(sp.n_kv, uint32_t(n_kv));
                sp.n_tokens = std::max<uint32_t>(sp.n_tokens, uint32_t(n));
                break;
            }
            case APH_OP_KV_STORE: np.flops = src(0) ? elements(*src(0)) : 0; break;  // dst is the whole cache
            default: np.flops = elements(dst); break;
        }
        sp.nodes.push_back(std::move(np));
    }
    return sp;
}

}  // namespace aprhost::core
