// What the Vulkan backend accepts: the tensor rules every node passes (known dtype, contiguous rows, aligned views,
// whole blocks) and the per-op rules of RMS_NORM, ADD, SCALE, SWIGLU, GEGLU, COPY, ROPE, KV_STORE and ATTENTION
// (same semantics and limits as the CPU backend, plus the device's binding window). MUL_MAT and GET_ROWS defer to
// the quantised kernels' own checks after the generic ones.
#include "vk_ops.hpp"

#include <aprhost/reference/dequant.hpp>

#include <algorithm>
#include <string>

namespace aprhost::vk {

namespace {

std::string shape_str(const aph_tensor& t) {
    std::string s(1, '[');
    for (int i = 0; i < APH_MAX_DIMS; ++i) {
        if (i) s += ", ";
        s += std::to_string(t.ne[i]);
    }
    s += ']';
    return s;
}

bool is_float(uint32_t dt) { return dt == APH_DTYPE_F32 || dt == APH_DTYPE_F16 || dt == APH_DTYPE_BF16; }

int64_t unit_bytes(uint32_t dt) {
    if (dt == APH_DTYPE_I32) return 4;
    return static_cast<int64_t>(aprhost::ref::block_bytes(dt));
}
int64_t block_elems(uint32_t dt) { return dt == APH_DTYPE_I32 ? 1 : static_cast<int64_t>(aprhost::ref::block_elems(dt)); }

std::string check_layout(const aph_tensor& t, const char* role) {
    const int64_t ub = unit_bytes(t.dtype);
    if (ub == 0) return std::string(role) + " has unsupported " + dtype_name(t.dtype);
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (t.ne[i] < 0 || (i > 0 && t.nb[i] < 0)) return std::string(role) + " has a negative extent or stride " + shape_str(t);
    int64_t count = 1;
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (__builtin_mul_overflow(count, t.ne[i], &count) || count > (int64_t{1} << 40))
            return std::string(role) + " " + shape_str(t) + " has too many elements";
    if (t.nb[0] != ub)
        return std::string(role) + " rows are not contiguous (nb[0] = " + std::to_string(t.nb[0]) + ", need " + std::to_string(ub) + ")";
    // Shaders address f32/i32 as 4-byte and f16/bf16/block data as 2-byte words.
    const int64_t align = (t.dtype == APH_DTYPE_F32 || t.dtype == APH_DTYPE_I32) ? 4 : 2;
    if (t.offset % static_cast<uint64_t>(align) != 0 || t.nb[1] % align || t.nb[2] % align || t.nb[3] % align)
        return std::string(role) + " offset/strides are not multiples of " + std::to_string(align) + " bytes";
    if (t.ne[0] % block_elems(t.dtype) != 0)
        return std::string(role) + " row of " + std::to_string(t.ne[0]) + " " + dtype_name(t.dtype) +
               " elements is not a whole number of blocks";
    if (!t.buffer) return std::string(role) + " has no buffer";
    return "";
}

bool contiguous(const aph_tensor& t) {
    const int64_t rb = static_cast<int64_t>(dtype_bytes(t.dtype, t.ne[0]));
    return (t.ne[1] == 1 || t.nb[1] == rb) && (t.ne[2] == 1 || t.nb[2] == rb * t.ne[1]) &&
           (t.ne[3] == 1 || t.nb[3] == rb * t.ne[1] * t.ne[2]);
}

bool same_shape(const aph_tensor& a, const aph_tensor& b) {
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (a.ne[i] != b.ne[i]) return false;
    return true;
}

std::string need_dtype(const aph_tensor& t, uint32_t dt, const char* role) {
    if (t.dtype != dt) return std::string(role) + " must be " + dtype_name(dt) + ", got " + dtype_name(t.dtype);
    return "";
}

std::string need_same_shape(const aph_tensor& a, const aph_tensor& b, const char* what) {
    if (!same_shape(a, b)) return std::string(what) + " shapes differ: " + shape_str(a) + " vs " + shape_str(b);
    return "";
}

// The whole tensor must fit one binding (these ops bind tensors whole).
std::string need_window(const DeviceCaps& caps, const aph_tensor& t, const char* role) {
    const uint64_t span = tensor_span(t) + caps.min_storage_buffer_offset_alignment;
    if (span > caps.max_storage_buffer_range)
        return std::string(role) + " spans " + std::to_string(span) + " bytes, more than one binding (" +
               std::to_string(caps.max_storage_buffer_range) + ") on this device";
    return "";
}

std::string check_node(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    auto src = [&](int i) -> const aph_tensor& { return g.tensors[n.src[i]]; };
    auto has = [&](int i) { return n.src[i] >= 0; };
    const aph_tensor& d = g.tensors[n.dst];
    std::string r;
#define APH_CHECK(expr)        \
    if (!(r = (expr)).empty()) \
    return r
    if (n.op != APH_OP_MUL_MAT && n.op != APH_OP_GET_ROWS) {
        static const char* const roles[] = {"src0", "src1", "src2", "src3", "src4", "src5"};
        for (int i = 0; i < APH_MAX_SRC; ++i)
            if (has(i)) APH_CHECK(need_window(caps, src(i), roles[i]));
        APH_CHECK(need_window(caps, d, "dst"));
    }
    switch (n.op) {
        case APH_OP_GET_ROWS: return get_rows_unsupported(caps, g, n);
        case APH_OP_MUL_MAT: return mul_mat_unsupported(caps, g, n);
        case APH_OP_RMS_NORM: {
            if (!has(0)) return "RMS_NORM needs src0";
            APH_CHECK(need_dtype(src(0), APH_DTYPE_F32, "RMS_NORM src0"));
            APH_CHECK(need_dtype(d, APH_DTYPE_F32, "RMS_NORM dst"));
            APH_CHECK(need_same_shape(src(0), d, "RMS_NORM src0/dst"));
            if (has(1)) {
                APH_CHECK(need_dtype(src(1), APH_DTYPE_F32, "RMS_NORM weight"));
                if (src(1).ne[0] != src(0).ne[0]) return "RMS_NORM weight length differs from the row length";
            }
            if (!(n.fparams[0] >= 0.0f)) return "RMS_NORM eps must be >= 0";
            return "";
        }
        case APH_OP_ROPE: {
            if (!has(0) || !has(1)) return "ROPE needs src0 and src1 (positions)";
            const aph_tensor &x = src(0), &p = src(1);
            APH_CHECK(need_dtype(x, APH_DTYPE_F32, "ROPE src0"));
            APH_CHECK(need_dtype(p, APH_DTYPE_I32, "ROPE positions"));
            APH_CHECK(need_dtype(d, APH_DTYPE_F32, "ROPE dst"));
            APH_CHECK(need_same_shape(x, d, "ROPE src0/dst"));
            if (x.ne[3] != 1) return "ROPE src0 must be [head_dim, heads, n], got " + shape_str(x);
            if (p.ne[0] != x.ne[2]) return "ROPE needs one position per token";
            const int mode = n.iparams[0], n_rot = n.iparams[1];
            if (mode != APH_ROPE_NORM && mode != APH_ROPE_NEOX) return "ROPE mode " + std::to_string(mode) + " is not supported";
            if (n_rot <= 0 || n_rot % 2 != 0 || n_rot > x.ne[0])
                return "ROPE n_rot " + std::to_string(n_rot) + " must be even and in 1.." + std::to_string(x.ne[0]);
            if (!(n.fparams[0] > 0.0f)) return "ROPE freq_base must be > 0";
            if (x.ne[1] > caps.max_workgroup_count[1] || x.ne[2] > caps.max_workgroup_count[2])
                return "ROPE has more heads or tokens than one dispatch covers";
            if (d.buffer == x.buffer && d.offset != x.offset) {
                const uint64_t lo = std::min(d.offset, x.offset), hi = std::max(d.offset, x.offset);
                if (hi - lo < tensor_span(x)) return "ROPE dst partially overlaps src0";
            }
            return "";
        }
        case APH_OP_KV_STORE: {
            if (!has(0) || !has(1)) return "KV_STORE needs src0 (k or v) and src1 (slots)";
            const aph_tensor &x = src(0), &s = src(1);
            APH_CHECK(need_dtype(x, APH_DTYPE_F32, "KV_STORE src0"));
            APH_CHECK(need_dtype(s, APH_DTYPE_I32, "KV_STORE slots"));
            if (!is_float(d.dtype)) return "KV_STORE cache dtype must be f32, f16 or bf16, got " + dtype_name(d.dtype);
            if (d.ne[2] != 1 || d.ne[3] != 1) return "KV_STORE cache must be 2-D [head_dim*kv_heads, slots]";
            const bool per_head = x.ne[0] != d.ne[0];
            if (per_head && (x.ne[0] * x.ne[1] != d.ne[0] || x.ne[3] != 1))
                return "KV_STORE src0 " + shape_str(x) + " does not fit cache rows of " + std::to_string(d.ne[0]);
            if (!per_head && !(x.ne[2] == 1 && x.ne[3] == 1) && !contiguous(x))
                return "KV_STORE src0 with whole cache rows must be 2-D or contiguous";
            const int64_t tokens = per_head ? x.ne[2] : x.ne[1] * x.ne[2] * x.ne[3];
            if (s.ne[0] != tokens) return "KV_STORE needs one slot per token";
            if (tokens > caps.max_workgroup_count[1]) return "KV_STORE has more tokens than one dispatch covers";
            return "";
        }
        case APH_OP_ATTENTION: {
            for (int i = 0; i < 4; ++i)
                if (!has(i)) return "ATTENTION needs src0 (q), src1 (K cache), src2 (V cache), src3 (block table)";
            const aph_tensor &q = src(0), &k = src(1), &v = src(2), &t = src(3);
            APH_CHECK(need_dtype(q, APH_DTYPE_F32, "ATTENTION q"));
            APH_CHECK(need_dtype(d, APH_DTYPE_F32, "ATTENTION dst"));
            APH_CHECK(need_dtype(t, APH_DTYPE_I32, "ATTENTION block table"));
            APH_CHECK(need_same_shape(q, d, "ATTENTION q/dst"));
            for (const aph_tensor* c : {&k, &v})
                if (c->dtype != APH_DTYPE_F32 && c->dtype != APH_DTYPE_F16)
                    return "ATTENTION cache dtype must be f32 or f16, got " + dtype_name(c->dtype);
            if (k.dtype != v.dtype) return "ATTENTION K and V caches must have the same dtype";
            if (q.ne[3] != 1) return "ATTENTION q must be [head_dim, heads, n], got " + shape_str(q);
            const int64_t hd = q.ne[0];
            if (hd == 0 || k.ne[0] == 0 || k.ne[0] % hd != 0) return "ATTENTION K rows are not a multiple of head_dim";
            if (hd > kAttentionMaxHeadDim) return "ATTENTION head_dim " + std::to_string(hd) + " > 256 is not supported";
            if (v.ne[0] != k.ne[0]) return "ATTENTION K and V rows differ";
            if (k.ne[2] != 1 || k.ne[3] != 1 || v.ne[2] != 1 || v.ne[3] != 1) return "ATTENTION caches must be 2-D";
            if (k.ne[1] != v.ne[1]) return "ATTENTION K and V caches have different slot counts";
            const int64_t kvh = k.ne[0] / hd;
            if (q.ne[1] % kvh != 0)
                return "ATTENTION heads (" + std::to_string(q.ne[1]) + ") are not a multiple of kv heads (" + std::to_string(kvh) + ")";
            const int64_t n_kv = n.iparams[0], bs = n.iparams[1];
            if (bs <= 0) return "ATTENTION block_size must be > 0";
            if (n_kv < q.ne[2]) return "ATTENTION n_kv (" + std::to_string(n_kv) + ") is smaller than the query count";
            if (t.ne[0] < (n_kv + bs - 1) / bs) return "ATTENTION block table is shorter than n_kv needs";
            if (!contiguous(t)) return "ATTENTION block table must be contiguous";
            if (q.ne[1] > caps.max_workgroup_count[0] || q.ne[2] > caps.max_workgroup_count[1])
                return "ATTENTION has more heads or queries than one dispatch covers";
            return "";
        }
        case APH_OP_SWIGLU:
        case APH_OP_GEGLU:
        case APH_OP_ADD: {
            if (!has(0) || !has(1)) return "binary op needs src0 and src1";
            APH_CHECK(need_dtype(src(0), APH_DTYPE_F32, "src0"));
            APH_CHECK(need_dtype(src(1), APH_DTYPE_F32, "src1"));
            APH_CHECK(need_dtype(d, APH_DTYPE_F32, "dst"));
            APH_CHECK(need_same_shape(src(0), d, "src0/dst"));
            if (n.op != APH_OP_ADD) return need_same_shape(src(0), src(1), "src0/src1");
            const aph_tensor &a = src(0), &b = src(1);
            if (b.ne[0] != a.ne[0]) return "ADD rows differ in length";
            for (int i = 1; i < APH_MAX_DIMS; ++i)
                if (b.ne[i] != 1 && b.ne[i] != a.ne[i]) return "ADD src1 " + shape_str(b) + " does not broadcast to " + shape_str(a);
            return "";
        }
        case APH_OP_SCALE: {
            if (!has(0)) return "SCALE needs src0";
            APH_CHECK(need_dtype(src(0), APH_DTYPE_F32, "SCALE src0"));
            APH_CHECK(need_dtype(d, APH_DTYPE_F32, "SCALE dst"));
            return need_same_shape(src(0), d, "SCALE src0/dst");
        }
        case APH_OP_COPY: {
            if (!has(0)) return "COPY needs src0";
            const aph_tensor& s = src(0);
            if (!is_float(s.dtype) || !is_float(d.dtype))
                return "COPY " + dtype_name(s.dtype) + " -> " + dtype_name(d.dtype) + " is not supported (f32/f16/bf16 only)";
            if (s.ne[0] * s.ne[1] * s.ne[2] * s.ne[3] != d.ne[0] * d.ne[1] * d.ne[2] * d.ne[3]) return "COPY element counts differ";
            if (!same_shape(s, d) && !(contiguous(s) && contiguous(d)))
                return "COPY between different shapes needs contiguous tensors";
            return "";
        }
        default:
            return "op " + std::to_string(n.op) + " is not supported by the vulkan backend";
    }
#undef APH_CHECK
}

}  // namespace

std::string dtype_name(uint32_t dt) {
    switch (dt) {
        case APH_DTYPE_F32: return "f32";
        case APH_DTYPE_F16: return "f16";
        case APH_DTYPE_BF16: return "bf16";
        case APH_DTYPE_Q4_0: return "q4_0";
        case APH_DTYPE_Q4_1: return "q4_1";
        case APH_DTYPE_Q5_0: return "q5_0";
        case APH_DTYPE_Q5_1: return "q5_1";
        case APH_DTYPE_Q8_0: return "q8_0";
        case APH_DTYPE_Q4_K: return "q4_K";
        case APH_DTYPE_Q5_K: return "q5_K";
        case APH_DTYPE_Q6_K: return "q6_K";
        case APH_DTYPE_APR_Q4: return "apr_q4";
        case APH_DTYPE_APR_Q8: return "apr_q8";
        case APH_DTYPE_I32: return "i32";
        default: return "dtype " + std::to_string(dt);
    }
}

uint64_t dtype_bytes(uint32_t dtype, int64_t n) {
    return dtype == APH_DTYPE_I32 ? static_cast<uint64_t>(n) * 4 : aprhost::ref::row_bytes(dtype, n);
}

uint64_t tensor_span(const aph_tensor& t) {
    if (t.ne[0] == 0 || t.ne[1] == 0 || t.ne[2] == 0 || t.ne[3] == 0) return 0;
    uint64_t end = dtype_bytes(t.dtype, t.ne[0]);
    for (int i = 1; i < APH_MAX_DIMS; ++i) end += static_cast<uint64_t>(t.ne[i] - 1) * static_cast<uint64_t>(t.nb[i]);
    return end;
}

std::string tensor_out_of_bounds(const aph_tensor& t, uint64_t buffer_size, const char* role) {
    if (t.ne[0] == 0 || t.ne[1] == 0 || t.ne[2] == 0 || t.ne[3] == 0) return "";
    uint64_t end = 0;
    bool overflow = __builtin_add_overflow(t.offset, dtype_bytes(t.dtype, t.ne[0]), &end);
    for (int i = 1; i < APH_MAX_DIMS && !overflow; ++i) {
        uint64_t span = 0;
        overflow = __builtin_mul_overflow(static_cast<uint64_t>(t.ne[i] - 1), static_cast<uint64_t>(t.nb[i]), &span) ||
                   __builtin_add_overflow(end, span, &end);
    }
    if (overflow) return std::string(role) + " " + shape_str(t) + " overflows";
    if (end > buffer_size)
        return std::string(role) + " " + shape_str(t) + " at offset " + std::to_string(t.offset) + " ends at byte " +
               std::to_string(end) + ", past its buffer of " + std::to_string(buffer_size) + " bytes";
    return "";
}

std::string node_unsupported(const DeviceCaps& caps, const aph_graph& g, uint32_t index) {
    if (index >= g.n_nodes) return "node index " + std::to_string(index) + " out of range";
    const aph_node& n = g.nodes[index];
    if (n.dst < 0 || static_cast<uint32_t>(n.dst) >= g.n_tensors) return "node has no valid dst tensor";
    for (int i = 0; i < APH_MAX_SRC; ++i)
        if (n.src[i] >= 0 && static_cast<uint32_t>(n.src[i]) >= g.n_tensors)
            return "src" + std::to_string(i) + " index " + std::to_string(n.src[i]) + " out of range";
    static const char* const roles[] = {"src0", "src1", "src2", "src3", "src4", "src5"};
    for (int i = 0; i < APH_MAX_SRC; ++i) {
        if (n.src[i] < 0) continue;
        std::string r = check_layout(g.tensors[n.src[i]], roles[i]);
        if (!r.empty()) return r;
    }
    std::string r = check_layout(g.tensors[n.dst], "dst");
    if (!r.empty()) return r;
    return check_node(caps, g, n);
}

}  // namespace aprhost::vk
