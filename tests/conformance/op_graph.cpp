#include "op_graph.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/step_graph.hpp>
#include <aprhost/graph_rules.hpp>
#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/quantize.hpp>

#include <cmath>
#include <cstring>
#include <limits>

namespace aprhost::conformance {

size_t dtype_row_bytes(uint32_t dtype, int64_t n) { return size_t(sdk::dtype_row_bytes(dtype, n)); }

const char* dtype_label(uint32_t dtype) { return sdk::dtype_name(dtype, "?"); }

int OpGraph::add(uint32_t dtype, std::initializer_list<int64_t> ne_list, const void* data) {
    aph_tensor t{};
    t.dtype = dtype;
    t.n_dims = uint32_t(ne_list.size());
    int i = 0;
    for (int64_t v : ne_list) t.ne[i++] = v;
    for (; i < APH_MAX_DIMS; ++i) t.ne[i] = 1;
    const size_t rb = dtype_row_bytes(dtype, t.ne[0]);
    if (rb == 0) throw core::Error(core::ErrorKind::USAGE, "conformance: bad tensor shape for " + std::string(dtype_label(dtype)));
    sdk::set_packed_strides(t);
    const uint64_t payload = uint64_t(t.nb[3] * t.ne[3]);
    auto buf = ctx_->alloc(kGuard + payload + kGuard, "conformance tensor");
    t.buffer = buf->handle();
    t.offset = kGuard;
    tensors_.push_back(t);
    buffers_.push_back(std::move(buf));
    payload_.push_back(payload);
    const int idx = int(tensors_.size()) - 1;
    set(idx, data);
    return idx;
}

void OpGraph::set(int t, const void* data) {
    const uint64_t payload = payload_[size_t(t)];
    std::vector<uint8_t> img(kGuard + payload + kGuard, kSentinel);
    if (data) std::memcpy(img.data() + kGuard, data, payload);
    else std::memset(img.data() + kGuard, 0, payload);
    buffers_[size_t(t)]->upload(0, img.data(), img.size());
}

void OpGraph::node(aph_op op, std::initializer_list<int32_t> srcs, int32_t dst, std::initializer_list<int32_t> iparams,
                   std::initializer_list<float> fparams) {
    aph_node n{};
    n.op = op;
    for (auto& s : n.src) s = -1;
    int i = 0;
    for (int32_t s : srcs) n.src[i++] = s;
    n.dst = dst;
    i = 0;
    for (int32_t v : iparams) n.iparams[i++] = v;
    i = 0;
    for (float v : fparams) n.fparams[i++] = v;
    n.name = core::op_name(op);
    nodes_.push_back(n);
}

aph_graph OpGraph::view() const {
    aph_graph g{};
    g.struct_size = sizeof(g);
    g.n_tensors = uint32_t(tensors_.size());
    g.tensors = tensors_.data();
    g.n_nodes = uint32_t(nodes_.size());
    g.nodes = nodes_.data();
    return g;
}

std::string OpGraph::unsupported() const {
    const aph_graph g = view();
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        std::string why = ctx_->unsupported_reason(g, i);
        if (!why.empty()) return std::string("node ") + core::op_name(nodes_[i].op) + ": " + why;
    }
    return "";
}

void OpGraph::compute() {
    const aph_graph g = view();
    ctx_->compute(g);
    ctx_->synchronize();
}

std::vector<uint8_t> OpGraph::bytes(int t) const {
    std::vector<uint8_t> out(payload_[size_t(t)]);
    buffers_[size_t(t)]->download(kGuard, out.data(), out.size());
    return out;
}

std::vector<float> OpGraph::f32(int t) const {
    const std::vector<uint8_t> b = bytes(t);
    std::vector<float> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), v.size() * 4);
    return v;
}

std::string OpGraph::sentinel_violation() const {
    for (size_t t = 0; t < tensors_.size(); ++t) {
        const uint64_t payload = payload_[t];
        std::vector<uint8_t> img(kGuard + payload + kGuard);
        buffers_[t]->download(0, img.data(), img.size());
        for (uint64_t i = 0; i < kGuard; ++i)
            if (img[i] != kSentinel)
                return "tensor " + std::to_string(t) + ": guard byte " + std::to_string(kGuard - i) +
                       " before the start was overwritten";
        for (uint64_t i = 0; i < kGuard; ++i)
            if (img[kGuard + payload + i] != kSentinel)
                return "tensor " + std::to_string(t) + ": guard byte " + std::to_string(i) +
                       " after the end was overwritten";
    }
    return "";
}

double nmse(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i]) && std::isfinite(b[i])) return std::numeric_limits<double>::infinity();
        const double d = double(a[i]) - double(b[i]);
        num += d * d;
        den += double(b[i]) * double(b[i]);
    }
    return den > 0 ? num / den : num;
}

std::string non_finite(const std::vector<float>& a, const std::vector<float>& ref) {
    if (a.size() != ref.size()) return "output has " + std::to_string(a.size()) + " values, expected " + std::to_string(ref.size());
    for (size_t i = 0; i < a.size(); ++i)
        if (!std::isfinite(a[i]) && std::isfinite(ref[i]))
            return std::string(std::isnan(a[i]) ? "NaN" : "Inf") + " at element " + std::to_string(i) +
                   " (reference " + std::to_string(ref[i]) + ")";
    return "";
}

}  // namespace aprhost::conformance
