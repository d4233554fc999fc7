// Graph rules for backend authors: what abi.h says a well-formed node is, as checks a backend runs in supports()
// and before graph_compute. Every check returns "" when the input is fine, else one line saying why (the text a
// backend reports across the ABI). Contents:
//   - dtype facts: names ("q4_K"), element/block sizes (from aprhost/reference), float/weight dtype sets;
//   - tensor helpers: shape string, element and row counts, contiguity, packed strides, the byte span of a view;
//   - tensor_bounds_reason: does a view stay inside a buffer of a size the caller knows;
//   - tensor_layout_reason: the per-tensor layout rules of abi.h (known dtype, non-negative extents and strides,
//     rows contiguous: nb[0] = element/block size, rows of whole blocks, a buffer), plus the alignment a backend's
//     kernels need when it asks for it (LayoutRules);
//   - one function per op with that op's dtype/shape/parameter rules from abi.h, and node_reason for all of it.
// What stays in a backend (see docs/plugin-guide.md): which dtypes it implements (LayoutRules::dtype_implemented),
// the view alignment its loads need (LayoutRules::aligned_views), device limits (head_dim, shared memory, dispatch
// sizes, binding windows), extra layout demands of its kernels (contiguous index tensors, in-place strides) and
// dtypes it supports beyond the ABI (OpRules::bf16_kv_cache).
//
// Header-only, no state, C++17 (CUDA host code may include it); nothing here throws on bad input.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/reference/quant_blocks.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace aprhost::sdk {

// ---------------------------------------------------------------------------------------------------------------
// Dtypes
// ---------------------------------------------------------------------------------------------------------------

// Short name of an aph_dtype as messages and test names spell it ("f32", "q4_K", "apr_q8"); `unknown` for an id
// abi.h does not define.
inline const char* dtype_name(uint32_t dt, const char* unknown = nullptr) {
    switch (dt) {
        case APH_DTYPE_F32: return "f32";
        case APH_DTYPE_F16: return "f16";
        case APH_DTYPE_BF16: return "bf16";
        case APH_DTYPE_F64: return "f64";
        case APH_DTYPE_Q4_0: return "q4_0";
        case APH_DTYPE_Q4_1: return "q4_1";
        case APH_DTYPE_Q5_0: return "q5_0";
        case APH_DTYPE_Q5_1: return "q5_1";
        case APH_DTYPE_Q8_0: return "q8_0";
        case APH_DTYPE_Q8_1: return "q8_1";
        case APH_DTYPE_Q2_K: return "q2_K";
        case APH_DTYPE_Q3_K: return "q3_K";
        case APH_DTYPE_Q4_K: return "q4_K";
        case APH_DTYPE_Q5_K: return "q5_K";
        case APH_DTYPE_Q6_K: return "q6_K";
        case APH_DTYPE_Q8_K: return "q8_K";
        case APH_DTYPE_I8: return "i8";
        case APH_DTYPE_I16: return "i16";
        case APH_DTYPE_I32: return "i32";
        case APH_DTYPE_I64: return "i64";
        case APH_DTYPE_APR_Q4: return "apr_q4";
        case APH_DTYPE_APR_Q8: return "apr_q8";
        default: return unknown;
    }
}

// dtype_name, or "dtype <id>" for an unknown id (for messages).
inline std::string dtype_str(uint32_t dt) {
    if (const char* s = dtype_name(dt)) return s;
    return "dtype " + std::to_string(dt);
}

// Storage layout of every dtype abi.h defines, including those no op takes (q2_K, q3_K, q8_1, q8_K, the integer
// types, f64): elements and bytes per block (1 and the element size for plain types). For format loaders sizing
// tensors of a file. false for an id abi.h does not define.
inline bool dtype_storage(uint32_t dt, uint32_t* block_elems, uint32_t* block_bytes) {
    uint32_t e = 1, b = 0;
    switch (dt) {
        case APH_DTYPE_I8: b = 1; break;
        case APH_DTYPE_I16: b = 2; break;
        case APH_DTYPE_I32: b = 4; break;
        case APH_DTYPE_I64: case APH_DTYPE_F64: b = 8; break;
        case APH_DTYPE_Q8_1: e = 32, b = 36; break;
        case APH_DTYPE_Q2_K: e = 256, b = 84; break;
        case APH_DTYPE_Q3_K: e = 256, b = 110; break;
        default:
            if (!ref::dtype_supported(dt)) return false;
            e = static_cast<uint32_t>(ref::block_elems(dt));
            b = static_cast<uint32_t>(ref::block_bytes(dt));
    }
    *block_elems = e;
    *block_bytes = b;
    return true;
}

inline bool is_float_dtype(uint32_t dt) { return dt == APH_DTYPE_F32 || dt == APH_DTYPE_F16 || dt == APH_DTYPE_BF16; }

// The dtypes weights come in (GET_ROWS tables, MUL_MAT src0): every dtype the reference dequantizes except Q8_K,
// which ggml uses only for quantised activations.
inline bool is_weight_dtype(uint32_t dt) { return dt != APH_DTYPE_Q8_K && ref::dtype_supported(dt); }

// Elements per block (1 for plain types); 0 for a dtype no op of the ABI carries. The op set's dtypes are the
// reference's (aprhost/reference/quant_blocks.hpp) plus I32 for index tensors.
inline int64_t dtype_block_elems(uint32_t dt) {
    return dt == APH_DTYPE_I32 ? 1 : static_cast<int64_t>(ref::block_elems(dt));
}

// Bytes per block (per element for plain types); 0 for a dtype no op of the ABI carries.
inline int64_t dtype_block_bytes(uint32_t dt) {
    return dt == APH_DTYPE_I32 ? 4 : static_cast<int64_t>(ref::block_bytes(dt));
}

// Bytes of a row of n elements; 0 for an unknown dtype, n < 0, or n not a whole number of blocks.
inline uint64_t dtype_row_bytes(uint32_t dt, int64_t n) {
    if (dt == APH_DTYPE_I32) return n < 0 ? 0 : static_cast<uint64_t>(n) * 4;
    return ref::row_bytes(dt, n);
}

// The widest scalar a kernel typically loads from a tensor of dtype dt: 4 bytes for f32/i32, 2 for f16/bf16 and
// the f16 scales of quantised blocks. LayoutRules::aligned_views asks offsets and strides to be multiples of it.
inline int64_t view_alignment(uint32_t dt) { return (dt == APH_DTYPE_F32 || dt == APH_DTYPE_I32) ? 4 : 2; }

// ---------------------------------------------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------------------------------------------

// Role names of a node's sources in messages: kSrcRoles[i] = "src<i>".
inline constexpr const char* kSrcRoles[APH_MAX_SRC] = {"src0", "src1", "src2", "src3", "src4", "src5"};

// "[ne0, ne1, ne2, ne3]".
inline std::string shape_str(const aph_tensor& t) {
    // Appended piecewise: GCC 12 warns (-Wrestrict, a known false positive) on "[" + std::to_string(...).
    std::string s(1, '[');
    for (int i = 0; i < APH_MAX_DIMS; ++i) {
        if (i) s += ", ";
        s += std::to_string(t.ne[i]);
    }
    s += ']';
    return s;
}

inline int64_t tensor_elements(const aph_tensor& t) { return t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]; }

// Rows of t (ne[1]·ne[2]·ne[3]).
inline int64_t tensor_rows(const aph_tensor& t) { return t.ne[1] * t.ne[2] * t.ne[3]; }

inline bool same_shape(const aph_tensor& a, const aph_tensor& b) {
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (a.ne[i] != b.ne[i]) return false;
    return true;
}

// Bytes of one row (ne[0] elements) of t; 0 as dtype_row_bytes.
inline uint64_t tensor_row_bytes(const aph_tensor& t) { return dtype_row_bytes(t.dtype, t.ne[0]); }

// Rows packed one after another (nb[1] = row bytes, nb[2] = nb[1]·ne[1], ...), ignoring dims of extent 1.
inline bool is_contiguous(const aph_tensor& t) {
    const int64_t rb = static_cast<int64_t>(tensor_row_bytes(t));
    return (t.ne[1] == 1 || t.nb[1] == rb) && (t.ne[2] == 1 || t.nb[2] == rb * t.ne[1]) &&
           (t.ne[3] == 1 || t.nb[3] == rb * t.ne[1] * t.ne[2]);
}

// Sets t.nb[] for rows packed one after another from t.dtype and t.ne (nb[0] = element or block size); the strides
// of a freshly allocated tensor. Leaves zeros for a dtype without known sizes.
inline void set_packed_strides(aph_tensor& t) {
    t.nb[0] = dtype_block_bytes(t.dtype);
    t.nb[1] = static_cast<int64_t>(tensor_row_bytes(t));
    t.nb[2] = t.nb[1] * t.ne[1];
    t.nb[3] = t.nb[2] * t.ne[2];
}

namespace detail {

// a + b and a · b on uint64_t; false on overflow (portable: no compiler builtins, nvcc's front end included).
inline bool add_u64(uint64_t a, uint64_t b, uint64_t* out) {
    if (a > std::numeric_limits<uint64_t>::max() - b) return false;
    *out = a + b;
    return true;
}
inline bool mul_u64(uint64_t a, uint64_t b, uint64_t* out) {
    if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
    *out = a * b;
    return true;
}

// Bytes from element 0 to one past the last byte t addresses: row bytes + Σ (ne[i] − 1)·nb[i]. 0 for an empty
// tensor; false on overflow or a negative extent/stride.
inline bool span_bytes(const aph_tensor& t, uint64_t* out) {
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (t.ne[i] < 0 || (i > 0 && t.nb[i] < 0)) return false;
    *out = 0;
    if (t.ne[0] == 0 || t.ne[1] == 0 || t.ne[2] == 0 || t.ne[3] == 0) return true;
    uint64_t end = tensor_row_bytes(t);
    for (int i = 1; i < APH_MAX_DIMS; ++i) {
        uint64_t span = 0;
        if (!mul_u64(static_cast<uint64_t>(t.ne[i] - 1), static_cast<uint64_t>(t.nb[i]), &span) ||
            !add_u64(end, span, &end))
            return false;
    }
    *out = end;
    return true;
}

}  // namespace detail

// Bytes from element 0 to one past the last byte t addresses (0 when empty); UINT64_MAX when that overflows or an
// extent/stride is negative.
inline uint64_t tensor_span(const aph_tensor& t) {
    uint64_t span = 0;
    return detail::span_bytes(t, &span) ? span : std::numeric_limits<uint64_t>::max();
}

// "" when every byte view t addresses lies inside a buffer of buffer_size bytes (an empty view always does), else
// "<role> [shape] at offset O ends at byte E, past its buffer of S bytes" or "<role> [shape] overflows".
inline std::string tensor_bounds_reason(const aph_tensor& t, uint64_t buffer_size, const char* role) {
    uint64_t span = 0, end = 0;
    if (!detail::span_bytes(t, &span) || !detail::add_u64(t.offset, span, &end))
        return std::string(role) + " " + shape_str(t) + " overflows";
    if (span == 0) return "";
    if (end > buffer_size)
        return std::string(role) + " " + shape_str(t) + " at offset " + std::to_string(t.offset) + " ends at byte " +
               std::to_string(end) + ", past its buffer of " + std::to_string(buffer_size) + " bytes";
    return "";
}

// What a backend adds to the ABI's per-tensor layout rules.
struct LayoutRules {
    // Most elements one tensor may have (2^48 keeps products of extents and strides far from int64 overflow).
    int64_t max_elements = int64_t{1} << 48;
    // Offsets and nb[1..3] must be multiples of view_alignment(dtype) (kernels load 32/16-bit words directly).
    bool aligned_views = false;
    // The dtypes the backend's kernels handle at all; nullptr = every dtype the op set carries.
    bool (*dtype_implemented)(uint32_t dtype) = nullptr;
};

// "" when t satisfies abi.h's tensor rules (and `rules`): a dtype with known sizes, no negative extent or stride,
// at most rules.max_elements elements, contiguous rows (nb[0] = element or block size), rows of whole blocks, a
// buffer. role names the tensor in the message ("src0", "MUL_MAT weights").
inline std::string tensor_layout_reason(const aph_tensor& t, const char* role,
                                        const LayoutRules& rules = LayoutRules{}) {
    const int64_t ub = dtype_block_bytes(t.dtype);
    if (ub == 0 || (rules.dtype_implemented && !rules.dtype_implemented(t.dtype)))
        return std::string(role) + " has unsupported " + dtype_str(t.dtype);
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (t.ne[i] < 0 || (i > 0 && t.nb[i] < 0))
            return std::string(role) + " has a negative extent or stride " + shape_str(t);
    int64_t count = 1;
    for (int i = 0; i < APH_MAX_DIMS; ++i) {
        if (t.ne[i] != 0 && count > rules.max_elements / t.ne[i])
            return std::string(role) + " " + shape_str(t) + " has too many elements";
        count *= t.ne[i];
    }
    if (t.nb[0] != ub)
        return std::string(role) + " rows are not contiguous (nb[0] = " + std::to_string(t.nb[0]) + ", need " +
               std::to_string(ub) + ")";
    if (rules.aligned_views) {
        const int64_t align = view_alignment(t.dtype);
        if (t.offset % static_cast<uint64_t>(align) != 0 || t.nb[1] % align != 0 || t.nb[2] % align != 0 ||
            t.nb[3] % align != 0)
            return std::string(role) + " offset/strides are not multiples of " + std::to_string(align) + " bytes";
    }
    const int64_t be = dtype_block_elems(t.dtype);
    if (t.ne[0] % be != 0)
        return std::string(role) + " row of " + std::to_string(t.ne[0]) + " " + dtype_str(t.dtype) +
               " elements is not a whole number of blocks of " + std::to_string(be);
    if (!t.buffer) return std::string(role) + " has no buffer";
    return "";
}

// ---------------------------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------------------------

// "" when n.dst and every present n.src[i] index a tensor of g.
inline std::string node_tensors_reason(const aph_graph& g, const aph_node& n) {
    if (n.dst < 0 || static_cast<uint32_t>(n.dst) >= g.n_tensors) return "node has no valid dst tensor";
    for (int i = 0; i < APH_MAX_SRC; ++i)
        if (n.src[i] >= 0 && static_cast<uint32_t>(n.src[i]) >= g.n_tensors)
            return "src" + std::to_string(i) + " index " + std::to_string(n.src[i]) + " out of range";
    return "";
}

// What a backend adds to (or relaxes in) the ABI's op rules.
struct OpRules {
    // KV caches (KV_STORE dst, ATTENTION K/V) may also be bf16 (the ABI says f32 or f16).
    bool bf16_kv_cache = false;
    // Named in the message for an op the ABI does not define: "op 99 is not supported by the <name> backend".
    const char* backend_name = nullptr;
};

namespace detail {

inline std::string need_dtype(const aph_tensor& t, uint32_t dt, const char* role) {
    if (t.dtype != dt) return std::string(role) + " must be " + dtype_str(dt) + ", got " + dtype_str(t.dtype);
    return "";
}

inline std::string need_same_shape(const aph_tensor& a, const aph_tensor& b, const char* what) {
    if (!same_shape(a, b)) return std::string(what) + " shapes differ: " + shape_str(a) + " vs " + shape_str(b);
    return "";
}

inline std::string need_cache_dtype(const aph_tensor& t, const OpRules& rules, const char* role) {
    if (t.dtype == APH_DTYPE_F32 || t.dtype == APH_DTYPE_F16 || (rules.bf16_kv_cache && t.dtype == APH_DTYPE_BF16))
        return "";
    return std::string(role) + " dtype must be " + (rules.bf16_kv_cache ? "f32, f16 or bf16" : "f32 or f16") +
           ", got " + dtype_str(t.dtype);
}

// The node's tensors once its indices are known valid; src(i) only for present sources.
struct NodeView {
    const aph_graph& g;
    const aph_node& n;
    bool has(int i) const { return n.src[i] >= 0; }
    const aph_tensor& src(int i) const { return g.tensors[n.src[i]]; }
    const aph_tensor& dst() const { return g.tensors[n.dst]; }
};

}  // namespace detail

// Evaluates a check returning std::string and returns its reason from the enclosing function when non-empty.
#define APRHOST_SDK_RETURN_IF(expr)             \
    do {                                        \
        std::string aprhost_sdk_reason_ = expr; \
        if (!aprhost_sdk_reason_.empty())       \
            return aprhost_sdk_reason_;         \
    } while (0)

// Per-op rules. Each takes a node of any op code (the caller dispatches), checks the node's tensor indices first,
// and does not look at layouts (tensor_layout_reason does) or buffers.

// GET_ROWS: dst [d, n] f32 = rows of src0 [d, vocab] (a weight dtype) picked by src1 [n] i32.
inline std::string get_rows_reason(const aph_graph& g, const aph_node& n) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0) || !v.has(1)) return "GET_ROWS needs src0 (table) and src1 (ids)";
    const aph_tensor &t = v.src(0), &ids = v.src(1), &d = v.dst();
    if (!is_weight_dtype(t.dtype)) return "GET_ROWS table dtype " + dtype_str(t.dtype) + " is not supported";
    APRHOST_SDK_RETURN_IF(detail::need_dtype(ids, APH_DTYPE_I32, "GET_ROWS ids"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(d, APH_DTYPE_F32, "GET_ROWS dst"));
    if (t.ne[2] != 1 || t.ne[3] != 1) return "GET_ROWS table must be 2-D, got " + shape_str(t);
    if (ids.ne[1] != 1 || ids.ne[2] != 1 || ids.ne[3] != 1) return "GET_ROWS ids must be 1-D";
    if (d.ne[0] != t.ne[0] || d.ne[1] != ids.ne[0] || d.ne[2] != 1 || d.ne[3] != 1)
        return "GET_ROWS dst must be [" + std::to_string(t.ne[0]) + ", " + std::to_string(ids.ne[0]) + "], got " +
               shape_str(d);
    return "";
}

// RMS_NORM: dst = src0 / rms(row) (× src1 [d] when present), f32, same shape; fparams[0] = eps ≥ 0.
inline std::string rms_norm_reason(const aph_graph& g, const aph_node& n) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0)) return "RMS_NORM needs src0";
    APRHOST_SDK_RETURN_IF(detail::need_dtype(v.src(0), APH_DTYPE_F32, "RMS_NORM src0"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(v.dst(), APH_DTYPE_F32, "RMS_NORM dst"));
    APRHOST_SDK_RETURN_IF(detail::need_same_shape(v.src(0), v.dst(), "RMS_NORM src0/dst"));
    if (v.has(1)) {
        APRHOST_SDK_RETURN_IF(detail::need_dtype(v.src(1), APH_DTYPE_F32, "RMS_NORM weight"));
        if (v.src(1).ne[0] != v.src(0).ne[0]) return "RMS_NORM weight length differs from the row length";
    }
    if (!(n.fparams[0] >= 0.0f)) return "RMS_NORM eps must be >= 0";
    return "";
}

// MUL_MAT: dst [out, n…] f32 = src0 [in, out] (a weight dtype, 2-D) × src1 [in, n…] f32 (+ src2 [out] f32 bias).
inline std::string mul_mat_reason(const aph_graph& g, const aph_node& n) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0) || !v.has(1)) return "MUL_MAT needs src0 (weights) and src1 (activations)";
    const aph_tensor &w = v.src(0), &x = v.src(1), &d = v.dst();
    if (!is_weight_dtype(w.dtype)) return "MUL_MAT weight dtype " + dtype_str(w.dtype) + " is not supported";
    APRHOST_SDK_RETURN_IF(detail::need_dtype(x, APH_DTYPE_F32, "MUL_MAT src1"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(d, APH_DTYPE_F32, "MUL_MAT dst"));
    if (w.ne[2] != 1 || w.ne[3] != 1) return "MUL_MAT weights must be 2-D, got " + shape_str(w);
    if (x.ne[0] != w.ne[0])
        return "MUL_MAT inner sizes differ: weights " + shape_str(w) + ", activations " + shape_str(x);
    if (d.ne[0] != w.ne[1] || d.ne[1] != x.ne[1] || d.ne[2] != x.ne[2] || d.ne[3] != x.ne[3])
        return "MUL_MAT dst shape " + shape_str(d) + " does not match weights " + shape_str(w) + " x activations " +
               shape_str(x);
    if (v.has(2)) {
        APRHOST_SDK_RETURN_IF(detail::need_dtype(v.src(2), APH_DTYPE_F32, "MUL_MAT bias"));
        if (v.src(2).ne[0] != w.ne[1]) return "MUL_MAT bias length differs from the output rows";
    }
    return "";
}

// ROPE: src0 [head_dim, heads, n] f32 at positions src1 [n] i32 → dst (same shape, f32; may alias src0 exactly);
// iparams[0] = mode (NORM | NEOX), iparams[1] = n_rot (even, 1..head_dim); fparams[0] = freq_base > 0.
inline std::string rope_reason(const aph_graph& g, const aph_node& n) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0) || !v.has(1)) return "ROPE needs src0 and src1 (positions)";
    const aph_tensor &x = v.src(0), &p = v.src(1), &d = v.dst();
    APRHOST_SDK_RETURN_IF(detail::need_dtype(x, APH_DTYPE_F32, "ROPE src0"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(p, APH_DTYPE_I32, "ROPE positions"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(d, APH_DTYPE_F32, "ROPE dst"));
    APRHOST_SDK_RETURN_IF(detail::need_same_shape(x, d, "ROPE src0/dst"));
    if (x.ne[3] != 1) return "ROPE src0 must be [head_dim, heads, n], got " + shape_str(x);
    if (p.ne[0] != x.ne[2]) return "ROPE needs one position per token";
    const int mode = n.iparams[0], n_rot = n.iparams[1];
    if (mode != APH_ROPE_NORM && mode != APH_ROPE_NEOX)
        return "ROPE mode " + std::to_string(mode) + " is not supported";
    if (n_rot <= 0 || n_rot % 2 != 0 || n_rot > x.ne[0])
        return "ROPE n_rot " + std::to_string(n_rot) + " must be even and in 1.." + std::to_string(x.ne[0]);
    if (!(n.fparams[0] > 0.0f)) return "ROPE freq_base must be > 0";
    // In place is fine (each pair is read before it is written); partial overlap is not.
    if (d.buffer == x.buffer && d.offset != x.offset) {
        const uint64_t lo = d.offset < x.offset ? d.offset : x.offset, hi = d.offset < x.offset ? x.offset : d.offset;
        if (hi - lo < static_cast<uint64_t>(x.nb[2] * x.ne[2])) return "ROPE dst partially overlaps src0";
    }
    return "";
}

// KV_STORE: src0 f32 ([head_dim, kv_heads, n], or rows that are whole cache rows) into dst, the cache
// [head_dim·kv_heads, slots] (f32/f16), at the slots src1 [n] i32 — one slot per token.
inline std::string kv_store_reason(const aph_graph& g, const aph_node& n, const OpRules& rules = OpRules{}) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0) || !v.has(1)) return "KV_STORE needs src0 (k or v) and src1 (slots)";
    const aph_tensor &x = v.src(0), &s = v.src(1), &d = v.dst();
    APRHOST_SDK_RETURN_IF(detail::need_dtype(x, APH_DTYPE_F32, "KV_STORE src0"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(s, APH_DTYPE_I32, "KV_STORE slots"));
    APRHOST_SDK_RETURN_IF(detail::need_cache_dtype(d, rules, "KV_STORE cache"));
    if (d.ne[2] != 1 || d.ne[3] != 1) return "KV_STORE cache must be 2-D [head_dim*kv_heads, slots]";
    // Either [head_dim, kv_heads, n] (head_dim·kv_heads = cache row) or rows that are whole cache rows.
    const bool per_head = x.ne[0] != d.ne[0];
    if (per_head && (x.ne[0] * x.ne[1] != d.ne[0] || x.ne[3] != 1))
        return "KV_STORE src0 " + shape_str(x) + " does not fit cache rows of " + std::to_string(d.ne[0]);
    const int64_t tokens = per_head ? x.ne[2] : tensor_rows(x);
    if (s.ne[0] != tokens) return "KV_STORE needs one slot per token";
    return "";
}

// ATTENTION: q src0 [head_dim, heads, n] f32; K/V caches src1/src2 [head_dim·kv_heads, slots] (f32/f16, the same
// slot count), heads a multiple of kv_heads; block table src3 [n_blocks] i32, contiguous and long enough for
// iparams[0] = n_kv ≥ n entries of iparams[1] = block_size > 0; dst like q.
inline std::string attention_reason(const aph_graph& g, const aph_node& n, const OpRules& rules = OpRules{}) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    for (int i = 0; i < 4; ++i)
        if (!v.has(i)) return "ATTENTION needs src0 (q), src1 (K cache), src2 (V cache), src3 (block table)";
    const aph_tensor &q = v.src(0), &k = v.src(1), &vc = v.src(2), &t = v.src(3), &d = v.dst();
    APRHOST_SDK_RETURN_IF(detail::need_dtype(q, APH_DTYPE_F32, "ATTENTION q"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(d, APH_DTYPE_F32, "ATTENTION dst"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(t, APH_DTYPE_I32, "ATTENTION block table"));
    APRHOST_SDK_RETURN_IF(detail::need_same_shape(q, d, "ATTENTION q/dst"));
    APRHOST_SDK_RETURN_IF(detail::need_cache_dtype(k, rules, "ATTENTION cache"));
    APRHOST_SDK_RETURN_IF(detail::need_cache_dtype(vc, rules, "ATTENTION cache"));
    if (q.ne[3] != 1) return "ATTENTION q must be [head_dim, heads, n], got " + shape_str(q);
    const int64_t hd = q.ne[0];
    if (hd <= 0 || k.ne[0] <= 0 || k.ne[0] % hd != 0) return "ATTENTION K rows are not a multiple of head_dim";
    if (vc.ne[0] != k.ne[0]) return "ATTENTION K and V rows differ";
    if (k.ne[2] != 1 || k.ne[3] != 1 || vc.ne[2] != 1 || vc.ne[3] != 1) return "ATTENTION caches must be 2-D";
    if (vc.ne[1] != k.ne[1]) return "ATTENTION K and V caches have different slot counts";
    const int64_t kvh = k.ne[0] / hd;
    if (q.ne[1] % kvh != 0)
        return "ATTENTION heads (" + std::to_string(q.ne[1]) + ") are not a multiple of kv heads (" +
               std::to_string(kvh) + ")";
    const int64_t n_kv = n.iparams[0], bs = n.iparams[1];
    if (bs <= 0) return "ATTENTION block_size must be > 0";
    if (n_kv < q.ne[2]) return "ATTENTION n_kv (" + std::to_string(n_kv) + ") is smaller than the query count";
    if (t.ne[0] < (n_kv + bs - 1) / bs) return "ATTENTION block table is shorter than n_kv needs";
    if (!is_contiguous(t)) return "ATTENTION block table must be contiguous";
    return "";
}

// SWIGLU, GEGLU and ADD: f32 src0, src1, dst; dst shaped like src0. SWIGLU/GEGLU: src1 shaped like src0 too.
// ADD: src1 rows as long as src0's, and every other extent of src1 either 1 (broadcast) or src0's.
inline std::string binary_reason(const aph_graph& g, const aph_node& n) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0) || !v.has(1)) return "binary op needs src0 and src1";
    const aph_tensor &a = v.src(0), &b = v.src(1), &d = v.dst();
    APRHOST_SDK_RETURN_IF(detail::need_dtype(a, APH_DTYPE_F32, "src0"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(b, APH_DTYPE_F32, "src1"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(d, APH_DTYPE_F32, "dst"));
    APRHOST_SDK_RETURN_IF(detail::need_same_shape(a, d, "src0/dst"));
    if (n.op != APH_OP_ADD) return detail::need_same_shape(a, b, "src0/src1");
    if (b.ne[0] != a.ne[0]) return "ADD rows differ in length";
    for (int i = 1; i < APH_MAX_DIMS; ++i)
        if (b.ne[i] != 1 && b.ne[i] != a.ne[i])
            return "ADD src1 " + shape_str(b) + " does not broadcast to " + shape_str(a);
    return "";
}

// SCALE: dst = src0 · fparams[0], f32, same shape.
inline std::string scale_reason(const aph_graph& g, const aph_node& n) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0)) return "SCALE needs src0";
    APRHOST_SDK_RETURN_IF(detail::need_dtype(v.src(0), APH_DTYPE_F32, "SCALE src0"));
    APRHOST_SDK_RETURN_IF(detail::need_dtype(v.dst(), APH_DTYPE_F32, "SCALE dst"));
    return detail::need_same_shape(v.src(0), v.dst(), "SCALE src0/dst");
}

// COPY: same dtype, or between float dtypes (f32/f16/bf16); equal element counts; different shapes only between
// contiguous tensors.
inline std::string copy_reason(const aph_graph& g, const aph_node& n) {
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    const detail::NodeView v{g, n};
    if (!v.has(0)) return "COPY needs src0";
    const aph_tensor &s = v.src(0), &d = v.dst();
    if (s.dtype != d.dtype && !(is_float_dtype(s.dtype) && is_float_dtype(d.dtype)))
        return "COPY " + dtype_str(s.dtype) + " -> " + dtype_str(d.dtype) + " is not supported";
    if (tensor_elements(s) != tensor_elements(d)) return "COPY element counts differ";
    if (!same_shape(s, d) && !(is_contiguous(s) && is_contiguous(d)))
        return "COPY between different shapes needs contiguous tensors";
    return "";
}

// The rules of n.op (one of the functions above); an op code abi.h does not define is refused.
inline std::string op_reason(const aph_graph& g, const aph_node& n, const OpRules& rules = OpRules{}) {
    switch (n.op) {
        case APH_OP_GET_ROWS: return get_rows_reason(g, n);
        case APH_OP_RMS_NORM: return rms_norm_reason(g, n);
        case APH_OP_MUL_MAT: return mul_mat_reason(g, n);
        case APH_OP_ROPE: return rope_reason(g, n);
        case APH_OP_KV_STORE: return kv_store_reason(g, n, rules);
        case APH_OP_ATTENTION: return attention_reason(g, n, rules);
        case APH_OP_SWIGLU:
        case APH_OP_GEGLU:
        case APH_OP_ADD: return binary_reason(g, n);
        case APH_OP_SCALE: return scale_reason(g, n);
        case APH_OP_COPY: return copy_reason(g, n);
        default:
            if (rules.backend_name)
                return "op " + std::to_string(n.op) + " is not supported by the " + rules.backend_name + " backend";
            return "op " + std::to_string(n.op) + " is not an op of ABI " + std::to_string(APH_ABI_MAJOR) + "." +
                   std::to_string(APH_ABI_MINOR);
    }
}

// Everything the ABI (plus `layout` and `ops`) demands of node `index` of g: valid indices, the layout of every
// source ("src<i>") and of "dst", then the op's rules. "" when the node is well formed.
inline std::string node_reason(const aph_graph& g, uint32_t index, const LayoutRules& layout = LayoutRules{},
                               const OpRules& ops = OpRules{}) {
    if (index >= g.n_nodes) return "node index " + std::to_string(index) + " out of range";
    const aph_node& n = g.nodes[index];
    APRHOST_SDK_RETURN_IF(node_tensors_reason(g, n));
    for (int i = 0; i < APH_MAX_SRC; ++i)
        if (n.src[i] >= 0) APRHOST_SDK_RETURN_IF(tensor_layout_reason(g.tensors[n.src[i]], kSrcRoles[i], layout));
    APRHOST_SDK_RETURN_IF(tensor_layout_reason(g.tensors[n.dst], "dst", layout));
    return op_reason(g, n, ops);
}

#undef APRHOST_SDK_RETURN_IF

}  // namespace aprhost::sdk
