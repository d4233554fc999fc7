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
// The acceptance rules are the SDK's (aprhost/graph_rules.hpp, the same as every backend's) plus the layout the
// kernels read (kTensorLayout): rows contiguous, offsets/strides multiples of the element size.
#include "cuda_kernel_api.hpp"
#include "cuda_mul_mat_kernels.hpp"

#include <aprhost/graph_rules.hpp>

#include <stdexcept>
#include <string>

namespace aprhost::cuda {

namespace {

constexpr int64_t kMaxGemvColumns = 8;
// Quantised weights with at least this many columns take the FP16 cuBLASLt path (tensor cores, several times faster
// on long prompts) instead of the integer tile. Its FP16 activations differ from decode's 8-bit ones, so the KV-cache
// invariant (decode vs batched logits) holds to the conformance bound only for batches below this size.
constexpr int64_t kFp16GemmMinColumns = 256;

// The kernels' own layout demands on one tensor of the node, named as in their messages.
std::string layout_reason(const aph_tensor& t, const char* role) {
    return sdk::tensor_layout_reason(t, role, kTensorLayout);
}

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
    std::string r = sdk::mul_mat_reason(g, n);
    if (!r.empty()) return r;
    if (!(r = layout_reason(g.tensors[n.src[0]], "MUL_MAT weights")).empty()) return r;
    if (!(r = layout_reason(g.tensors[n.src[1]], "MUL_MAT src1")).empty()) return r;
    if (!(r = layout_reason(g.tensors[n.dst], "MUL_MAT dst")).empty()) return r;
    if (n.src[2] >= 0) return layout_reason(g.tensors[n.src[2]], "MUL_MAT bias");
    return "";
}

std::string get_rows_unsupported(const aph_graph& g, const aph_node& n) {
    std::string r = sdk::get_rows_reason(g, n);
    if (!r.empty()) return r;
    if (!(r = layout_reason(g.tensors[n.src[0]], "GET_ROWS table")).empty()) return r;
    if (!(r = layout_reason(g.tensors[n.src[1]], "GET_ROWS ids")).empty()) return r;
    return layout_reason(g.tensors[n.dst], "GET_ROWS dst");
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
