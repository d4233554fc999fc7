// See cuda_fusion.hpp.
#include "cuda_fusion.hpp"

#include <cstring>

namespace aprhost::cuda {

namespace {

// Byte range [begin, end) a view covers, for the element dtypes fusion considers (f32, i32, f16, bf16).
struct Range {
    const void* buffer = nullptr;
    uint64_t begin = 0, end = 0;
    bool known = false;
};

Range range_of(const aph_graph& g, int32_t index) {
    Range r;
    if (index < 0 || static_cast<uint32_t>(index) >= g.n_tensors) return r;
    const aph_tensor& t = g.tensors[index];
    int64_t eb = 0;
    if (t.dtype == APH_DTYPE_F32 || t.dtype == APH_DTYPE_I32) eb = 4;
    if (t.dtype == APH_DTYPE_F16 || t.dtype == APH_DTYPE_BF16) eb = 2;
    if (eb == 0) return r;
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (t.ne[i] <= 0 || (i > 0 && t.nb[i] < 0)) return r;
    uint64_t end = t.offset + static_cast<uint64_t>(t.ne[0] * eb);
    for (int i = 1; i < APH_MAX_DIMS; ++i) end += static_cast<uint64_t>((t.ne[i] - 1) * t.nb[i]);
    r.buffer = t.buffer;
    r.begin = t.offset;
    r.end = end;
    r.known = true;
    return r;
}

// Unknown ranges count as overlapping: fusion must be provably harmless.
bool overlap(const Range& a, const Range& b) {
    if (!a.known || !b.known) return true;
    return a.buffer == b.buffer && a.begin < b.end && b.begin < a.end;
}
bool overlap(const aph_graph& g, int32_t a, int32_t b) {
    if (a < 0 || b < 0) return false;
    return overlap(range_of(g, a), range_of(g, b));
}

bool same_view(const aph_graph& g, int32_t a, int32_t b) {
    if (a < 0 || b < 0 || static_cast<uint32_t>(a) >= g.n_tensors || static_cast<uint32_t>(b) >= g.n_tensors)
        return false;
    if (a == b) return true;
    const aph_tensor &x = g.tensors[a], &y = g.tensors[b];
    if (x.dtype != y.dtype || x.buffer != y.buffer || x.offset != y.offset) return false;
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (x.ne[i] != y.ne[i] || x.nb[i] != y.nb[i]) return false;
    return true;
}

// Does node `second` read or write anything node `first` writes, or write anything `first` reads? (Fusing runs them
// concurrently.) Inputs of `first` that `second` also only reads are fine.
bool independent(const aph_graph& g, const aph_node& first, const aph_node& second) {
    for (int s = 0; s < APH_MAX_SRC; ++s) {
        if (overlap(g, first.dst, second.src[s])) return false;
        if (overlap(g, second.dst, first.src[s])) return false;
    }
    return !overlap(g, first.dst, second.dst);
}

bool same_params(const aph_node& a, const aph_node& b) {
    return std::memcmp(a.iparams, b.iparams, sizeof a.iparams) == 0 &&
           std::memcmp(a.fparams, b.fparams, sizeof a.fparams) == 0;
}

bool fusable(const aph_graph& g, const aph_node& a, const aph_node& b, LaunchKind& kind) {
    if (a.op == APH_OP_ADD && b.op == APH_OP_RMS_NORM) {
        // RMS_NORM reads exactly what ADD wrote, and writes nothing ADD reads (other rows of a broadcast src1 are
        // read by other blocks) nor its own weight region.
        if (!same_view(g, b.src[0], a.dst)) return false;
        if (overlap(g, b.dst, a.src[0]) || overlap(g, b.dst, a.src[1])) return false;
        if (b.src[1] >= 0 && (overlap(g, a.dst, b.src[1]) || overlap(g, b.dst, b.src[1]))) return false;
        kind = LaunchKind::ADD_RMS_NORM;
        return true;
    }
    if (a.op == APH_OP_ROPE && b.op == APH_OP_ROPE) {
        if (!same_view(g, a.src[1], b.src[1]) || !same_params(a, b) || !independent(g, a, b)) return false;
        kind = LaunchKind::ROPE_PAIR;
        return true;
    }
    if (a.op == APH_OP_KV_STORE && b.op == APH_OP_KV_STORE) {
        if (!same_view(g, a.src[1], b.src[1]) || !independent(g, a, b)) return false;
        kind = LaunchKind::KV_STORE_PAIR;
        return true;
    }
    return false;
}

}  // namespace

std::vector<PlannedLaunch> plan_launches(const aph_graph& g, bool fuse) {
    std::vector<PlannedLaunch> plan;
    plan.reserve(g.n_nodes);
    for (uint32_t i = 0; i < g.n_nodes;) {
        PlannedLaunch l;
        l.first = i;
        LaunchKind kind = LaunchKind::SINGLE;
        if (fuse && i + 1 < g.n_nodes && fusable(g, g.nodes[i], g.nodes[i + 1], kind)) l.kind = kind;
        plan.push_back(l);
        i += l.count();
    }
    return plan;
}

}  // namespace aprhost::cuda
