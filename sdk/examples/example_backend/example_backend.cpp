// example_backend: a complete, deliberately small third-party backend plugin for aprhost.
//
// It keeps every buffer in ordinary host memory and runs five ops on f32 tensors — ADD (with the one-row
// broadcast), SCALE, RMS_NORM, SWIGLU and MUL_MAT (f32 weights) — with plain loops. Every other op or dtype is
// refused in unsupported_reason() with a one-line reason, which `aprhost conformance` reports as a SKIP and the
// generation session reports as "backend cannot run node ...". Read it top to bottom next to
// docs/plugin-guide.md; the members are the ones sdk/include/aprhost/plugin.hpp lists for a backend.
//
// Build it against an installed aprhost (see CMakeLists.txt next to this file), then:
//   aprhost conformance --plugin ./libaprhost-backend-example.so
#include <aprhost/plugin.hpp>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

namespace example {

using aprhost::sdk::Error;

// A buffer is just bytes on the heap. The ABI hands buffers around as the opaque aph_buffer_t; we cast our own
// type to and from it (the host never looks inside).
struct HostBuffer {
    std::unique_ptr<unsigned char[]> bytes;
    uint64_t size = 0;
};

HostBuffer* as_buffer(aph_buffer_t b) { return reinterpret_cast<HostBuffer*>(b); }

class ExampleBackend {
public:
    // Called through vtable->create. Options are the `--backend-opt key=value` pairs; unknown keys must be an
    // error (require_known throws APH_STATUS_INVALID_ARGUMENT naming the key). This backend has no knobs except
    // "threads", which the host passes when the user gives --threads; we accept and ignore it.
    ExampleBackend(const aph_host_services* host, const aprhost::sdk::Options& opts) : host_(host) {
        opts.require_known({"threads"});
        aprhost::sdk::log(host_, APH_LOG_DEBUG, "example backend: context created");
    }

    // The destructor runs in vtable->destroy and must free every buffer the host did not free itself: buffers_
    // owns them, so the default destructor does.
    ~ExampleBackend() = default;

    aph_device_info device_info() const {
        aph_device_info info{};
        std::snprintf(info.name, sizeof info.name, "example host-memory backend");
        std::snprintf(info.detail, sizeof info.detail, "scalar loops; f32 ADD SCALE RMS_NORM SWIGLU MUL_MAT");
        info.flags = APH_DEVICE_HOST_VISIBLE;  // buffer_map below works for every buffer
        return info;
    }

    // ---- buffers -----------------------------------------------------------------------------------------
    // Errors are exceptions: plugin.hpp's trampolines turn aprhost::sdk::Error into its status and message,
    // std::bad_alloc into APH_STATUS_OUT_OF_MEMORY, anything else into APH_STATUS_INTERNAL.
    aph_buffer_t buffer_alloc(uint64_t size) {
        auto buf = std::make_unique<HostBuffer>();
        buf->bytes.reset(new unsigned char[size ? size : 1]);  // contents undefined, as the ABI allows
        buf->size = size;
        bytes_allocated_ += size;
        HostBuffer* raw = buf.get();
        buffers_.emplace(raw, std::move(buf));
        return reinterpret_cast<aph_buffer_t>(raw);
    }
    void buffer_free(aph_buffer_t b) {  // never called with NULL (the SDK filters it)
        auto it = buffers_.find(as_buffer(b));
        if (it == buffers_.end()) return;  // not ours: ignore rather than corrupt the heap
        bytes_allocated_ -= it->second->size;
        buffers_.erase(it);
    }
    void buffer_upload(aph_buffer_t b, uint64_t off, const void* src, uint64_t n) {
        std::memcpy(span(b, off, n), src, n);
    }
    void buffer_download(aph_buffer_t b, uint64_t off, void* dst, uint64_t n) {
        std::memcpy(dst, span(b, off, n), n);  // synchronous backend: nothing to wait for
    }
    // OPTIONAL member: present, so the vtable slot is filled and the host may read/write buffers in place.
    void* buffer_map(aph_buffer_t b) { return as_buffer(b)->bytes.get(); }

    // ---- what we can run -----------------------------------------------------------------------------------
    // "" = supported; anything else is the one-line reason shown to the user. Must not throw for ordinary
    // "no": a throw is a plugin failure (APH_STATUS_INTERNAL), not an unsupported node.
    std::string unsupported_reason(const aph_graph& g, uint32_t index) const {
        const aph_node& n = g.nodes[index];
        int n_src = 0;
        switch (n.op) {
            case APH_OP_ADD: n_src = 2; break;
            case APH_OP_SCALE: n_src = 1; break;
            case APH_OP_RMS_NORM: n_src = n.src[1] >= 0 ? 2 : 1; break;  // the weight is optional
            case APH_OP_SWIGLU: n_src = 2; break;
            case APH_OP_MUL_MAT: n_src = n.src[2] >= 0 ? 3 : 2; break;  // the bias is optional
            default: return "example backend implements only ADD, SCALE, RMS_NORM, SWIGLU, MUL_MAT (op " +
                            std::to_string(n.op) + ")";
        }
        for (int i = 0; i <= n_src; ++i) {  // the n_src sources, then dst
            const aph_tensor& t = g.tensors[i < n_src ? n.src[i] : n.dst];
            if (t.dtype != APH_DTYPE_F32)
                return "example backend: only f32 tensors (got dtype " + std::to_string(t.dtype) + ")";
            if (t.nb[0] != sizeof(float)) return "example backend: rows must be contiguous (nb[0] == 4)";
        }
        // Shapes that contradict the op's definition are the caller's bug, not a missing feature: that is
        // APH_STATUS_INVALID_ARGUMENT (a thrown Error), while "I can't do this" is a returned reason.
        const aph_tensor& dst = g.tensors[n.dst];
        const aph_tensor& a = g.tensors[n.src[0]];
        if (n.op == APH_OP_MUL_MAT) {
            const aph_tensor& x = g.tensors[n.src[1]];
            if (a.ne[2] * a.ne[3] != 1 || x.ne[2] * x.ne[3] != 1)
                return "example backend: MUL_MAT on 2-D tensors only";
            if (a.ne[0] != x.ne[0] || dst.ne[0] != a.ne[1] || dst.ne[1] != x.ne[1])
                throw Error(APH_STATUS_INVALID_ARGUMENT, "example backend: MUL_MAT shapes do not match");
        } else {
            for (int k = 0; k < APH_MAX_DIMS; ++k)
                if (a.ne[k] != dst.ne[k]) throw Error(APH_STATUS_INVALID_ARGUMENT, "example backend: src0/dst shapes differ");
            if (n_src == 2 && g.tensors[n.src[1]].ne[0] != dst.ne[0])
                throw Error(APH_STATUS_INVALID_ARGUMENT, "example backend: src1 row length differs from dst");
            if (n_src == 2 && n.op != APH_OP_RMS_NORM && rows(g.tensors[n.src[1]]) != rows(dst) &&
                !(n.op == APH_OP_ADD && rows(g.tensors[n.src[1]]) == 1))
                throw Error(APH_STATUS_INVALID_ARGUMENT, "example backend: src1 row count differs from dst");
        }
        return "";
    }

    // ---- compute -------------------------------------------------------------------------------------------
    // The host calls supports() on every node before submitting, so graph_compute may assume supported nodes;
    // we still check, because a graph from a buggy caller must become an error, not a crash.
    void graph_compute(const aph_graph& g) {
        for (uint32_t i = 0; i < g.n_nodes; ++i) {
            if (aprhost::sdk::aborted(host_)) throw Error(APH_STATUS_ABORTED, "example backend: aborted");
            if (std::string why = unsupported_reason(g, i); !why.empty()) throw Error(APH_STATUS_UNSUPPORTED, why);
            run_node(g, g.nodes[i]);
        }
        graphs_ += 1;
        nodes_ += g.n_nodes;
    }
    void synchronize() {}  // every call above already finished

    // OPTIONAL member: counters for `aprhost run --json` and profiles.
    aph_backend_stats stats() const {
        aph_backend_stats s{};
        s.bytes_allocated = bytes_allocated_;
        s.graphs_computed = graphs_;
        s.nodes_computed = nodes_;
        return s;
    }

    // OPTIONAL static member: 0 = cannot run on this machine (reason says why); the highest score of the plugins
    // sharing a NAME is selected. A portable scalar backend can always run, so it answers 1 (the default).
    static uint32_t score(std::string& reason) {
        reason = "portable scalar example";
        return 1;
    }

private:
    unsigned char* span(aph_buffer_t b, uint64_t off, uint64_t n) const {
        HostBuffer* buf = buffers_.count(as_buffer(b)) ? as_buffer(b) : nullptr;
        if (!buf || off > buf->size || n > buf->size - off)
            throw Error(APH_STATUS_INVALID_ARGUMENT, "example backend: range [" + std::to_string(off) + ", +" +
                                                         std::to_string(n) + ") outside a buffer of " +
                                                         std::to_string(buf ? buf->size : 0) + " bytes");
        return buf->bytes.get() + off;
    }

    // Row r (all dims above 0 flattened) of an f32 tensor: nb[] are byte strides, so views work unchanged.
    static float* row(const aph_tensor& t, int64_t r) {
        const int64_t i1 = r % t.ne[1], i2 = (r / t.ne[1]) % t.ne[2], i3 = r / (t.ne[1] * t.ne[2]);
        unsigned char* base = as_buffer(t.buffer)->bytes.get() + t.offset;
        return reinterpret_cast<float*>(base + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3]);
    }
    static int64_t rows(const aph_tensor& t) { return t.ne[1] * t.ne[2] * t.ne[3]; }

    static void run_node(const aph_graph& g, const aph_node& n) {
        const aph_tensor& dst = g.tensors[n.dst];
        const aph_tensor& a = g.tensors[n.src[0]];
        const int64_t d = dst.ne[0];
        switch (n.op) {
            case APH_OP_ADD: {  // dst = a + b; b may be one row broadcast over every row of a
                const aph_tensor& b = g.tensors[n.src[1]];
                const bool broadcast = rows(b) == 1;
                for (int64_t r = 0; r < rows(dst); ++r) {
                    const float *x = row(a, r), *y = row(b, broadcast ? 0 : r);
                    float* o = row(dst, r);
                    for (int64_t i = 0; i < d; ++i) o[i] = x[i] + y[i];
                }
                break;
            }
            case APH_OP_SCALE: {  // dst = a * fparams[0]
                for (int64_t r = 0; r < rows(dst); ++r) {
                    const float* x = row(a, r);
                    float* o = row(dst, r);
                    for (int64_t i = 0; i < d; ++i) o[i] = x[i] * n.fparams[0];
                }
                break;
            }
            case APH_OP_RMS_NORM: {  // dst = a / sqrt(mean(a²) + eps) * w; sums in double for accuracy
                const float* w = n.src[1] >= 0 ? row(g.tensors[n.src[1]], 0) : nullptr;
                for (int64_t r = 0; r < rows(dst); ++r) {
                    const float* x = row(a, r);
                    float* o = row(dst, r);
                    double sum = 0.0;
                    for (int64_t i = 0; i < d; ++i) sum += double(x[i]) * x[i];
                    const double inv = 1.0 / std::sqrt(sum / double(d) + double(n.fparams[0]));
                    for (int64_t i = 0; i < d; ++i) o[i] = float(x[i] * inv * (w ? w[i] : 1.0f));
                }
                break;
            }
            case APH_OP_SWIGLU: {  // dst = silu(a) * b
                const aph_tensor& b = g.tensors[n.src[1]];
                for (int64_t r = 0; r < rows(dst); ++r) {
                    const float *x = row(a, r), *y = row(b, r);
                    float* o = row(dst, r);
                    for (int64_t i = 0; i < d; ++i) o[i] = x[i] / (1.0f + std::exp(-x[i])) * y[i];
                }
                break;
            }
            case APH_OP_MUL_MAT: {  // dst[o, j] = Σ_i W[i, o] · X[i, j] (+ bias[o]); W is [in, out]
                const aph_tensor& x = g.tensors[n.src[1]];
                const float* bias = n.src[2] >= 0 ? row(g.tensors[n.src[2]], 0) : nullptr;
                const int64_t in = a.ne[0];
                for (int64_t j = 0; j < x.ne[1]; ++j) {
                    const float* xj = row(x, j);
                    float* o = row(dst, j);
                    for (int64_t r = 0; r < a.ne[1]; ++r) {
                        const float* wr = row(a, r);
                        double acc = 0.0;
                        for (int64_t i = 0; i < in; ++i) acc += double(wr[i]) * xj[i];
                        o[r] = float(acc + (bias ? bias[r] : 0.0f));
                    }
                }
                break;
            }
            default: throw Error(APH_STATUS_UNSUPPORTED, "example backend: unexpected op");
        }
    }

    const aph_host_services* host_;
    std::unordered_map<HostBuffer*, std::unique_ptr<HostBuffer>> buffers_;  // every live buffer of this context
    uint64_t bytes_allocated_ = 0, graphs_ = 0, nodes_ = 0;
};

}  // namespace example

// The descriptor and the two exported symbols. NAME "example" is what `--backend example` selects; it must not
// clash with another backend's name, or the higher score wins. VARIANT "" = no build variants.
APRHOST_DECLARE_PLUGIN(BACKEND, example::ExampleBackend, "example", "", "0.1.0",
                       "SDK example: host-memory backend with five f32 ops (sdk/examples/example_backend)")
