// MUL_MAT and GET_ROWS of the CUDA backend (the kernel half of cuda_kernel_api.hpp): what is accepted, how much
// workspace a node needs, and which kernel runs it.
//   N (flattened activation columns) ≤ 8  → decode GEMV (cuda_mul_mat_vec.cu): q8_1 activations + dp4a for the
//                                            quantised dtypes, 128-bit f32/f16/bf16 loads for the float dtypes; a
//                                            generic dequantise-and-dot kernel when rows are not aligned for those;
//   N > 8, quantised weights, N < 256      → integer tile kernel (cuda_mul_mat_vec.cu) on the same q8_1 activations
//                                            and per-element arithmetic as decode: decode-with-cache and batched
//                                            logits agree to FP32 rounding (the KV-cache invariant);
//   otherwise                              → dequantised weight chunks + cuBLASLt (cuda_mul_mat_gemm.cu): FP16 for
//                                            quantised weights, FP32 for f32/f16/bf16 (no rounding of f32 inputs).
// The acceptance rules mirror the CPU backend's (the same graphs must run on both) plus the layout the kernels read:
// rows contiguous, offsets/strides multiples of the element size (4 bytes for f32/i32, 2 for everything else).
#include "cuda_kernel_api.hpp"
#include "cuda_mul_mat_kernels.hpp"

#include <aprhost/reference/dequant.hpp>

#include <stdexcept>
#include <string>

namespace aprhost::cuda {

namespace {

constexpr int64_t kMaxGemvColumns = 8;
// Quantised weights with at least this many columns take the FP16 cuBLASLt path (tensor cores, several times faster
// on long prompts) instead of the integer tile. Its FP16 activations differ from decode's 8-bit ones, so the KV-cache
// invariant (decode vs batched logits) holds to the conformance bound only for batches below this size.
constexpr int64_t kFp16GemmMinColumns = 256;

std::string dtype_str(uint32_t dt) {
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

std::string shape_str(const aph_tensor& t) {
    std::string s(1, '[');
    for (int i = 0; i < APH_MAX_DIMS; ++i) {
        if (i) s += ", ";
        s += std::to_string(t.ne[i]);
    }
    s += ']';
    return s;
}

bool is_weight_dtype(uint32_t dt) {
    switch (dt) {
        case APH_DTYPE_F32: case APH_DTYPE_F16: case APH_DTYPE_BF16:
        case APH_DTYPE_Q4_0: case APH_DTYPE_Q4_1: case APH_DTYPE_Q5_0: case APH_DTYPE_Q5_1: case APH_DTYPE_Q8_0:
        case APH_DTYPE_Q4_K: case APH_DTYPE_Q5_K: case APH_DTYPE_Q6_K:
        case APH_DTYPE_APR_Q4: case APH_DTYPE_APR_Q8:
            return true;
        default:
            return false;
    }
}

int64_t unit_bytes(uint32_t dt) {
    if (dt == APH_DTYPE_I32) return 4;
    return is_weight_dtype(dt) ? static_cast<int64_t>(aprhost::ref::block_bytes(dt)) : 0;
}

int64_t unit_elems(uint32_t dt) {
    if (dt == APH_DTYPE_I32) return 1;
    return static_cast<int64_t>(aprhost::ref::block_elems(dt));
}

// Per-tensor layout rules; "" when fine.
std::string check_layout(const aph_tensor& t, const char* role) {
    const int64_t ub = unit_bytes(t.dtype);
    if (ub == 0) return std::string(role) + " has unsupported " + dtype_str(t.dtype);
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (t.ne[i] < 0 || (i > 0 && t.nb[i] < 0))
            return std::string(role) + " has a negative extent or stride " + shape_str(t);
    int64_t count = 1;
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (__builtin_mul_overflow(count, t.ne[i], &count) || count > (int64_t{1} << 48))
            return std::string(role) + " " + shape_str(t) + " has too many elements";
    if (t.nb[0] != ub)
        return std::string(role) + " rows are not contiguous (nb[0] = " + std::to_string(t.nb[0]) + ", need " +
               std::to_string(ub) + ")";
    const int64_t align = (t.dtype == APH_DTYPE_F32 || t.dtype == APH_DTYPE_I32) ? 4 : 2;
    if (t.offset % static_cast<uint64_t>(align) != 0 || t.nb[1] % align != 0 || t.nb[2] % align != 0 ||
        t.nb[3] % align != 0)
        return std::string(role) + " offset/strides are not multiples of " + std::to_string(align) + " bytes";
    if (t.ne[0] % unit_elems(t.dtype) != 0)
        return std::string(role) + " row of " + std::to_string(t.ne[0]) + " " + dtype_str(t.dtype) +
               " elements is not a whole number of blocks of " + std::to_string(unit_elems(t.dtype));
    if (!t.buffer) return std::string(role) + " has no buffer";
    return "";
}

std::string need_dtype(const aph_tensor& t, uint32_t dt, const char* role) {
    if (t.dtype != dt) return std::string(role) + " must be " + dtype_str(dt) + ", got " + dtype_str(t.dtype);
    return "";
}

bool valid_index(const aph_graph& g, int32_t i) { return i >= 0 && static_cast<uint32_t>(i) < g.n_tensors; }

kern::Cols cols_of(const aph_tensor& t) {
    kern::Cols c;
    c.ne1 = t.ne[1] > 0 ? t.ne[1] : 1;
    c.ne2 = t.ne[2] > 0 ? t.ne[2] : 1;
    c.nb1 = t.nb[1];
    c.nb2 = t.nb[2];
    c.nb3 = t.nb[3];
    return c;
}

int64_t columns_of(const aph_tensor& t) { return t.ne[1] * t.ne[2] * t.ne[3]; }

// The activation columns are evenly spaced (column j at j·nb1), as the float GEMV's vector loads assume.
bool uniform_columns(const aph_tensor& t) {
    const int64_t n = columns_of(t);
    if (n <= t.ne[1]) return true;
    if (t.nb[2] != t.nb[1] * t.ne[1]) return false;
    if (n <= t.ne[1] * t.ne[2]) return true;
    return t.nb[3] == t.nb[2] * t.ne[2];
}

kern::Weights weights_of(const aph_tensor& w) {
    kern::Weights kw;
    kw.dtype = w.dtype;
    kw.w = static_cast<const uint8_t*>(device_pointer(w));
    kw.stride = w.nb[1];
    kw.k = w.ne[0];
    kw.m = w.ne[1];
    return kw;
}

bool is_quantised(uint32_t dt) { return dt != APH_DTYPE_F32 && dt != APH_DTYPE_F16 && dt != APH_DTYPE_BF16; }

}  // namespace

std::string mul_mat_unsupported(const aph_graph& g, const aph_node& n) {
    if (!valid_index(g, n.src[0]) || !valid_index(g, n.src[1]) || !valid_index(g, n.dst))
        return "MUL_MAT needs src0 (weights), src1 (activations) and dst";
    if (n.src[2] >= 0 && !valid_index(g, n.src[2])) return "MUL_MAT bias index is out of range";
    const aph_tensor &w = g.tensors[n.src[0]], &x = g.tensors[n.src[1]], &d = g.tensors[n.dst];
    if (!is_weight_dtype(w.dtype)) return "MUL_MAT weight dtype " + dtype_str(w.dtype) + " is not supported";
    std::string r;
    if (!(r = need_dtype(x, APH_DTYPE_F32, "MUL_MAT src1")).empty()) return r;
    if (!(r = need_dtype(d, APH_DTYPE_F32, "MUL_MAT dst")).empty()) return r;
    if (!(r = check_layout(w, "MUL_MAT weights")).empty()) return r;
    if (!(r = check_layout(x, "MUL_MAT src1")).empty()) return r;
    if (!(r = check_layout(d, "MUL_MAT dst")).empty()) return r;
    if (w.ne[2] != 1 || w.ne[3] != 1) return "MUL_MAT weights must be 2-D, got " + shape_str(w);
    if (x.ne[0] != w.ne[0])
        return "MUL_MAT inner sizes differ: weights " + shape_str(w) + ", activations " + shape_str(x);
    if (d.ne[0] != w.ne[1] || d.ne[1] != x.ne[1] || d.ne[2] != x.ne[2] || d.ne[3] != x.ne[3])
        return "MUL_MAT dst shape " + shape_str(d) + " does not match weights " + shape_str(w) + " x activations " +
               shape_str(x);
    if (n.src[2] >= 0) {
        const aph_tensor& b = g.tensors[n.src[2]];
        if (!(r = need_dtype(b, APH_DTYPE_F32, "MUL_MAT bias")).empty()) return r;
        if (!(r = check_layout(b, "MUL_MAT bias")).empty()) return r;
        if (b.ne[0] != w.ne[1]) return "MUL_MAT bias length differs from the output rows";
    }
    return "";
}

std::string get_rows_unsupported(const aph_graph& g, const aph_node& n) {
    if (!valid_index(g, n.src[0]) || !valid_index(g, n.src[1]) || !valid_index(g, n.dst))
        return "GET_ROWS needs src0 (table), src1 (ids) and dst";
    const aph_tensor &t = g.tensors[n.src[0]], &ids = g.tensors[n.src[1]], &d = g.tensors[n.dst];
    if (!is_weight_dtype(t.dtype)) return "GET_ROWS table dtype " + dtype_str(t.dtype) + " is not supported";
    std::string r;
    if (!(r = need_dtype(ids, APH_DTYPE_I32, "GET_ROWS ids")).empty()) return r;
    if (!(r = need_dtype(d, APH_DTYPE_F32, "GET_ROWS dst")).empty()) return r;
    if (!(r = check_layout(t, "GET_ROWS table")).empty()) return r;
    if (!(r = check_layout(ids, "GET_ROWS ids")).empty()) return r;
    if (!(r = check_layout(d, "GET_ROWS dst")).empty()) return r;
    if (t.ne[2] != 1 || t.ne[3] != 1) return "GET_ROWS table must be 2-D, got " + shape_str(t);
    if (ids.ne[1] != 1 || ids.ne[2] != 1 || ids.ne[3] != 1) return "GET_ROWS ids must be 1-D";
    if (d.ne[0] != t.ne[0] || d.ne[1] != ids.ne[0] || d.ne[2] != 1 || d.ne[3] != 1)
        return "GET_ROWS dst must be [" + std::to_string(t.ne[0]) + ", " + std::to_string(ids.ne[0]) + "], got " +
               shape_str(d);
    return "";
}

namespace {

enum class MulMatPath {
    GEMV,          // ≤ 8 columns, fused kernels (q8_1 + dp4a, or f32/f16/bf16 vector loads)
    GEMV_GENERIC,  // ≤ 8 columns, rows not aligned for the fused kernels
    TILE_Q8,       // > 8 columns of quantised weights: the integer tile kernel on the same q8_1 activations
    GEMM,          // dequantised chunks + cuBLASLt (or the tiled fallback)
};

struct MulMatPlan {
    MulMatPath path = MulMatPath::GEMV;
    kern::Weights w;
    int64_t ncols = 0;
    size_t workspace = 0;
};

// Needs a node mul_mat_unsupported accepted and m, k, ncols > 0.
MulMatPlan plan_mul_mat(const aph_graph& g, const aph_node& n) {
    const aph_tensor &wt = g.tensors[n.src[0]], &x = g.tensors[n.src[1]];
    MulMatPlan p;
    p.w = weights_of(wt);
    p.ncols = columns_of(x);
    const bool quant = is_quantised(p.w.dtype);
    if (p.ncols <= kMaxGemvColumns) {
        const bool fast = quant ? kern::mmv_quant_fast_ok(p.w)
                                : uniform_columns(x) && kern::mmv_float_fast_ok(p.w, device_pointer(x), x.nb[1]);
        p.path = fast ? MulMatPath::GEMV : MulMatPath::GEMV_GENERIC;
        p.workspace = fast && quant ? kern::q8_1_workspace_bytes(p.w.k, p.ncols) : 0;
    } else if (quant && p.ncols < kFp16GemmMinColumns && kern::mmv_quant_fast_ok(p.w)) {
        p.path = MulMatPath::TILE_Q8;
        p.workspace = kern::q8_1_workspace_bytes(p.w.k, p.ncols);
    } else {
        p.path = MulMatPath::GEMM;
        p.workspace = kern::gemm_plan(p.w.dtype, p.w.k, p.w.m, p.ncols).total();
    }
    return p;
}

}  // namespace

size_t mul_mat_workspace_bytes(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    (void)caps;
    if (!mul_mat_unsupported(g, n).empty()) return 0;
    const aph_tensor &w = g.tensors[n.src[0]], &x = g.tensors[n.src[1]];
    if (w.ne[0] == 0 || w.ne[1] == 0 || columns_of(x) == 0) return 0;
    return plan_mul_mat(g, n).workspace;
}

void launch_mul_mat(const LaunchContext& ctx, const aph_graph& g, const aph_node& n) {
    const aph_tensor &wt = g.tensors[n.src[0]], &x = g.tensors[n.src[1]], &d = g.tensors[n.dst];
    const int64_t ncols = columns_of(x);
    if (wt.ne[1] == 0 || ncols == 0) return;
    const auto* xp = static_cast<const uint8_t*>(device_pointer(x));
    auto* dp = static_cast<uint8_t*>(device_pointer(d));
    const float* bias = n.src[2] >= 0 ? static_cast<const float*>(device_pointer(g.tensors[n.src[2]])) : nullptr;
    const kern::Cols xc = cols_of(x), dc = cols_of(d);
    if (wt.ne[0] == 0) {
        kern::launch_fill_bias(ctx.stream, wt.ne[1], ncols, bias, dp, dc);
        return;
    }
    const MulMatPlan p = plan_mul_mat(g, n);
    if (p.workspace > ctx.workspace_bytes || (p.workspace > 0 && ctx.workspace == nullptr))
        throw std::runtime_error("CUDA MUL_MAT: workspace of " + std::to_string(ctx.workspace_bytes) +
                                 " bytes is smaller than the " + std::to_string(p.workspace) + " the node needs");
    switch (p.path) {
        case MulMatPath::GEMV:
            kern::launch_mmv(ctx.stream, p.w, xp, xc, static_cast<int>(ncols), bias, dp, dc, ctx.workspace);
            return;
        case MulMatPath::GEMV_GENERIC:
            kern::launch_mmv_generic(ctx.stream, p.w, xp, xc, ncols, bias, dp, dc);
            return;
        case MulMatPath::TILE_Q8:
            kern::launch_mmq(ctx.stream, p.w, xp, xc, ncols, bias, dp, dc, ctx.workspace);
            return;
        case MulMatPath::GEMM: {
            const kern::GemmPlan plan = kern::gemm_plan(p.w.dtype, p.w.k, p.w.m, ncols);
            kern::launch_gemm(ctx.stream, ctx.cublaslt, ctx.caps ? ctx.caps->device : 0, plan, p.w, xp, xc, ncols, bias,
                              dp, dc, ctx.workspace);
            return;
        }
    }
}

void launch_get_rows(const LaunchContext& ctx, const aph_graph& g, const aph_node& n) {
    const aph_tensor &t = g.tensors[n.src[0]], &ids = g.tensors[n.src[1]], &d = g.tensors[n.dst];
    kern::launch_get_rows(ctx.stream, t.dtype, static_cast<const uint8_t*>(device_pointer(t)), t.nb[1], t.ne[1], t.ne[0],
                          static_cast<const int32_t*>(device_pointer(ids)), ids.ne[0],
                          static_cast<uint8_t*>(device_pointer(d)), d.nb[1]);
}

}  // namespace aprhost::cuda
