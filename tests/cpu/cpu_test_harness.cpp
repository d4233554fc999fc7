#include "cpu_test_harness.hpp"

#include <aprhost/graph_rules.hpp>
#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/quantize.hpp>

#include <catch2/catch.hpp>
#include <dlfcn.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

namespace cputest {

namespace {

constexpr uint64_t kGuard = 64;     // sentinel bytes before and after every tensor
constexpr uint8_t kSentinel = 0xA5;

}  // namespace

size_t row_bytes(uint32_t dtype, int64_t n) { return static_cast<size_t>(aprhost::sdk::dtype_row_bytes(dtype, n)); }

const char* dtype_name(uint32_t dtype) { return aprhost::sdk::dtype_name(dtype, "?"); }

const Plugin& Plugin::get(const std::string& variant) {
    static std::map<std::string, std::unique_ptr<Plugin>> cache;
    auto it = cache.find(variant);
    if (it != cache.end()) return *it->second;
    auto p = std::make_unique<Plugin>();
    p->path = std::string(APRHOST_PLUGIN_DIR) + "/libaprhost-backend-cpu-" + variant + ".so";
    void* h = dlopen(p->path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) FAIL("dlopen " << p->path << ": " << dlerror());
    auto entry = reinterpret_cast<aph_plugin_entry_fn>(dlsym(h, APH_ENTRY_SYMBOL));
    if (!entry) FAIL("no " << APH_ENTRY_SYMBOL << " in " << p->path);
    p->desc = entry();
    p->vt = static_cast<const aph_backend_vtable*>(p->desc->vtable);
    p->score = reinterpret_cast<aph_plugin_score_fn>(dlsym(h, APH_SCORE_SYMBOL));
    const Plugin& ref = *p;
    cache.emplace(variant, std::move(p));
    return ref;
}

Backend::Backend(const Plugin& p, const OptionList& opts) : plugin(p) {
    std::vector<aph_option> o;
    for (auto& [k, v] : opts) o.push_back({k.c_str(), v.c_str()});
    aph_error err{};
    create_status = p.vt->create(nullptr, o.data(), o.size(), &ctx, &err);
    if (create_status != APH_OK) {
        ctx = nullptr;
        create_error = err.message;
    }
}

Backend::~Backend() {
    if (ctx) plugin.vt->destroy(ctx);
}

Graph::Graph(Backend& b) : b_(b) { REQUIRE(b.ok()); }

Graph::~Graph() {
    for (auto& s : slots_)
        if (s.owned) b_.plugin.vt->buffer_free(b_.ctx, s.buf);
}

int Graph::import(const Graph& other, int t) {
    tensors_.push_back(other.tensors_[static_cast<size_t>(t)]);
    Slot s = other.slots_[static_cast<size_t>(t)];
    s.owned = false;
    slots_.push_back(s);
    return static_cast<int>(tensors_.size()) - 1;
}

int Graph::reshape(int t, std::initializer_list<int64_t> ne_list) {
    aph_tensor v = tensors_[static_cast<size_t>(t)];
    Slot s = slots_[static_cast<size_t>(t)];
    int64_t total_in = 1, total_out = 1;
    for (int i = 0; i < APH_MAX_DIMS; ++i) total_in *= v.ne[i];
    int i = 0;
    for (int64_t x : ne_list) v.ne[i++] = x;
    v.n_dims = static_cast<uint32_t>(ne_list.size());
    for (; i < APH_MAX_DIMS; ++i) v.ne[i] = 1;
    for (i = 0; i < APH_MAX_DIMS; ++i) total_out *= v.ne[i];
    REQUIRE(total_in == total_out);
    s.row_bytes = row_bytes(v.dtype, v.ne[0]);
    v.nb[1] = static_cast<int64_t>(s.row_bytes);
    v.nb[2] = v.nb[1] * v.ne[1];
    v.nb[3] = v.nb[2] * v.ne[2];
    s.owned = false;
    tensors_.push_back(v);
    slots_.push_back(s);
    return static_cast<int>(tensors_.size()) - 1;
}

int Graph::add(uint32_t dtype, std::initializer_list<int64_t> ne_list, const void* data, int64_t pad1, int64_t pad2) {
    aph_tensor t{};
    t.dtype = dtype;
    t.n_dims = static_cast<uint32_t>(ne_list.size());
    int i = 0;
    for (int64_t v : ne_list) t.ne[i++] = v;
    for (; i < APH_MAX_DIMS; ++i) t.ne[i] = 1;
    Slot s;
    s.row_bytes = row_bytes(dtype, t.ne[0]);
    s.unit = static_cast<uint64_t>(aprhost::sdk::dtype_block_bytes(dtype));
    REQUIRE(s.row_bytes != 0);
    t.nb[0] = static_cast<int64_t>(s.unit);
    t.nb[1] = static_cast<int64_t>(s.row_bytes) + pad1;
    t.nb[2] = t.nb[1] * t.ne[1] + pad2;
    t.nb[3] = t.nb[2] * t.ne[2];
    const uint64_t extent = static_cast<uint64_t>(t.nb[3] * t.ne[3]);
    s.size = kGuard + extent + kGuard;
    aph_error err{};
    REQUIRE(b_.plugin.vt->buffer_alloc(b_.ctx, s.size, &s.buf, &err) == APH_OK);
    t.buffer = s.buf;
    t.offset = kGuard;
    tensors_.push_back(t);
    slots_.push_back(s);
    const int idx = static_cast<int>(tensors_.size()) - 1;
    std::vector<uint8_t> zeros;
    if (!data) {
        zeros.assign(s.row_bytes * static_cast<size_t>(t.ne[1] * t.ne[2] * t.ne[3]), 0);
        data = zeros.data();
    }
    set(idx, data);
    return idx;
}

void Graph::set(int idx, const void* data) {
    const aph_tensor& t = tensors_[static_cast<size_t>(idx)];
    const Slot& s = slots_[static_cast<size_t>(idx)];
    std::vector<uint8_t> img(s.size, kSentinel);
    const auto* src = static_cast<const uint8_t*>(data);
    for (int64_t i3 = 0; i3 < t.ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < t.ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < t.ne[1]; ++i1) {
                std::memcpy(img.data() + kGuard + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3], src, s.row_bytes);
                src += s.row_bytes;
            }
    aph_error err{};
    REQUIRE(b_.plugin.vt->buffer_upload(b_.ctx, s.buf, 0, img.data(), s.size, &err) == APH_OK);
}

int Graph::node(aph_op op, std::initializer_list<int32_t> srcs, int32_t dst, std::initializer_list<int32_t> iparams,
                std::initializer_list<float> fparams) {
    aph_node n{};
    n.op = op;
    for (int i = 0; i < APH_MAX_SRC; ++i) n.src[i] = -1;
    int i = 0;
    for (int32_t s : srcs) n.src[i++] = s;
    n.dst = dst;
    i = 0;
    for (int32_t v : iparams) n.iparams[i++] = v;
    i = 0;
    for (float v : fparams) n.fparams[i++] = v;
    nodes_.push_back(n);
    return static_cast<int>(nodes_.size()) - 1;
}

aph_status Graph::compute(std::string* err_out) {
    aph_graph g{};
    g.struct_size = sizeof(g);
    g.n_tensors = static_cast<uint32_t>(tensors_.size());
    g.tensors = tensors_.data();
    g.n_nodes = static_cast<uint32_t>(nodes_.size());
    g.nodes = nodes_.data();
    aph_error err{};
    aph_status st = b_.plugin.vt->graph_compute(b_.ctx, &g, &err);
    if (st == APH_OK) st = b_.plugin.vt->synchronize(b_.ctx, &err);
    if (err_out) *err_out = st == APH_OK ? "" : err.message;
    return st;
}

aph_status Graph::supports(uint32_t node_index, std::string* err_out) {
    aph_graph g{};
    g.struct_size = sizeof(g);
    g.n_tensors = static_cast<uint32_t>(tensors_.size());
    g.tensors = tensors_.data();
    g.n_nodes = static_cast<uint32_t>(nodes_.size());
    g.nodes = nodes_.data();
    aph_error err{};
    const aph_status st = b_.plugin.vt->supports(b_.ctx, &g, node_index, &err);
    if (err_out) *err_out = st == APH_OK ? "" : err.message;
    return st;
}

std::vector<uint8_t> Graph::download_all(int idx) const {
    const Slot& s = slots_[static_cast<size_t>(idx)];
    std::vector<uint8_t> img(s.size);
    aph_error err{};
    REQUIRE(b_.plugin.vt->buffer_download(b_.ctx, s.buf, 0, img.data(), s.size, &err) == APH_OK);
    return img;
}

std::vector<uint8_t> Graph::bytes(int idx) const {
    const aph_tensor& t = tensors_[static_cast<size_t>(idx)];
    const Slot& s = slots_[static_cast<size_t>(idx)];
    const std::vector<uint8_t> img = download_all(idx);
    std::vector<uint8_t> out;
    out.reserve(s.row_bytes * static_cast<size_t>(t.ne[1] * t.ne[2] * t.ne[3]));
    for (int64_t i3 = 0; i3 < t.ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < t.ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < t.ne[1]; ++i1) {
                const uint8_t* row = img.data() + kGuard + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
                out.insert(out.end(), row, row + s.row_bytes);
            }
    return out;
}

std::vector<float> Graph::f32(int idx) const {
    REQUIRE(tensors_[static_cast<size_t>(idx)].dtype == APH_DTYPE_F32);
    const std::vector<uint8_t> b = bytes(idx);
    std::vector<float> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), b.size());
    return v;
}

bool Graph::is_payload(int idx, uint64_t off) const {
    const aph_tensor& t = tensors_[static_cast<size_t>(idx)];
    const Slot& s = slots_[static_cast<size_t>(idx)];
    // Decompose off into (i3, i2, i1, byte-in-row) against the padded strides.
    const uint64_t i3 = off / static_cast<uint64_t>(t.nb[3]);
    uint64_t r = off % static_cast<uint64_t>(t.nb[3]);
    const uint64_t i2 = r / static_cast<uint64_t>(t.nb[2]);
    r %= static_cast<uint64_t>(t.nb[2]);
    const uint64_t i1 = r / static_cast<uint64_t>(t.nb[1]);
    r %= static_cast<uint64_t>(t.nb[1]);
    return i3 < static_cast<uint64_t>(t.ne[3]) && i2 < static_cast<uint64_t>(t.ne[2]) &&
           i1 < static_cast<uint64_t>(t.ne[1]) && r < s.row_bytes;
}

bool Graph::sentinels_intact() const {
    for (size_t idx = 0; idx < tensors_.size(); ++idx) {
        if (!slots_[idx].owned) continue;
        const std::vector<uint8_t> img = download_all(static_cast<int>(idx));
        for (uint64_t i = 0; i < img.size(); ++i) {
            const bool payload = i >= kGuard && i < img.size() - kGuard && is_payload(static_cast<int>(idx), i - kGuard);
            if (!payload && img[i] != kSentinel) return false;
        }
    }
    return true;
}

double nmse(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i])) return std::numeric_limits<double>::infinity();
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        num += d * d;
        den += static_cast<double>(b[i]) * static_cast<double>(b[i]);
    }
    return den > 0.0 ? num / den : num;
}

std::vector<uint8_t> make_weights(uint32_t dtype, int64_t k, int64_t m, uint32_t seed, bool realistic) {
    if (realistic || dtype == APH_DTYPE_F32 || dtype == APH_DTYPE_F16 || dtype == APH_DTYPE_BF16)
        return aprhost::test::gaussian_weights(dtype, k, m, seed);
    const size_t rb = row_bytes(dtype, k);
    std::vector<uint8_t> w(rb * static_cast<size_t>(m));
    std::mt19937 rng(seed);
    for (auto& b : w) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> scale(0.002f, 0.02f), sign(-1.0f, 1.0f);
    auto h = [&](float v) { return aprhost::ref::fp32_to_fp16(v); };
    const size_t bb = aprhost::ref::block_bytes(dtype);
    for (size_t off = 0; off < w.size(); off += bb) {
        uint8_t* p = w.data() + off;
        uint16_t d = h(scale(rng)), second = h(scale(rng) * (sign(rng) < 0 ? -1.0f : 1.0f));
        switch (dtype) {
            case APH_DTYPE_Q4_0: case APH_DTYPE_Q5_0: case APH_DTYPE_Q8_0:
                std::memcpy(p, &d, 2);
                break;
            case APH_DTYPE_Q4_1: case APH_DTYPE_Q5_1:  // d, m
            case APH_DTYPE_Q4_K: case APH_DTYPE_Q5_K:  // d, dmin (dmin ≥ 0 in real files; the sign is exercised too)
                std::memcpy(p, &d, 2);
                std::memcpy(p + 2, &second, 2);
                break;
            case APH_DTYPE_Q6_K:
                d = h(scale(rng) * 0.05f);  // int8 scales up to ±128
                std::memcpy(p + offsetof(aprhost::ref::block_q6_K, d), &d, 2);
                break;
            default: break;
        }
    }
    return w;
}

std::vector<float> emulate_act_quant(const std::vector<float>& x, int64_t k, int block) {
    std::vector<float> y(x.size());
    for (size_t b0 = 0; b0 < x.size(); b0 += static_cast<size_t>(block)) {
        float amax = 0.0f;
        for (int i = 0; i < block; ++i) amax = std::fmax(amax, std::fabs(x[b0 + i]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int i = 0; i < block; ++i) y[b0 + i] = d * std::nearbyint(x[b0 + i] * id);
    }
    (void)k;
    return y;
}

}  // namespace cputest
