// Row-wise f32 kernels: RMS_NORM (one block per row, f32 tree reduction), ADD (with ADD's row broadcast), SCALE,
// SWIGLU and GEGLU. Views are strided (rows contiguous, nb[1..3] free); dst may alias src0 (each element is read
// before the same thread writes it). Semantics: abi.h and aprhost::ref (sdk/include/aprhost/reference/ops.hpp).
#include "cuda_device_util.cuh"
#include "cuda_ops.hpp"

namespace aprhost::cuda {

namespace {

constexpr int kThreads = 256;

// ---------------------------------------------------------------------------------------------------------------
// RMS_NORM: out = x / sqrt(mean(x²) + eps) · w (w optional).
// ---------------------------------------------------------------------------------------------------------------
__global__ void rms_norm_kernel(View x, View w, bool has_w, View out, float eps) {
    __shared__ float scratch[32];
    const int64_t d = x.ne[0], rows = view_rows(x);
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = reinterpret_cast<const float*>(x.base + view_row_offset(x, r));
        float* yr = reinterpret_cast<float*>(out.base + view_row_offset(out, r));
        float s = 0.0f;
        for (int64_t i = threadIdx.x; i < d; i += blockDim.x) s += xr[i] * xr[i];
        s = block_sum(s, scratch);
        // 1/sqrt rather than rsqrtf: the reference rounds once from double, rsqrtf is 2 ulp.
        const float inv = 1.0f / sqrtf(s / static_cast<float>(d) + eps);
        const float* wr = reinterpret_cast<const float*>(w.base);
        for (int64_t i = threadIdx.x; i < d; i += blockDim.x) yr[i] = xr[i] * inv * (has_w ? wr[i] : 1.0f);
    }
}

// ADD then RMS_NORM of its result (fused, cuda_fusion.hpp): y = a + b (b's broadcast rows), written to y, then
// out = y / sqrt(mean(y²) + eps) · w. Each thread re-reads only the y elements it wrote itself.
__global__ void add_rms_norm_kernel(View a, View b, View y, View w, bool has_w, View out, float eps) {
    __shared__ float scratch[32];
    const int64_t d = a.ne[0], rows = view_rows(a);
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* ar = reinterpret_cast<const float*>(a.base + view_row_offset(a, r));
        const float* br = reinterpret_cast<const float*>(b.base + broadcast_row_offset(a, b, r));
        float* yr = reinterpret_cast<float*>(y.base + view_row_offset(y, r));
        float* outr = reinterpret_cast<float*>(out.base + view_row_offset(out, r));
        float s = 0.0f;
        for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
            const float v = ar[i] + br[i];
            yr[i] = v;
            s += v * v;
        }
        s = block_sum(s, scratch);
        const float inv = 1.0f / sqrtf(s / static_cast<float>(d) + eps);
        const float* wr = reinterpret_cast<const float*>(w.base);
        for (int64_t i = threadIdx.x; i < d; i += blockDim.x) outr[i] = yr[i] * inv * (has_w ? wr[i] : 1.0f);
    }
}

int norm_threads(int64_t d) { return d >= 1024 ? 512 : (d >= 256 ? 256 : 64); }

// ---------------------------------------------------------------------------------------------------------------
// Binary / unary element-wise kernels over rows.
// ---------------------------------------------------------------------------------------------------------------
enum class Ew { ADD, SCALE, SWIGLU, GEGLU };

template <Ew OP>
__device__ __forceinline__ float ew_apply(float a, float b, float s) {
    if constexpr (OP == Ew::ADD) {
        return a + b;
    } else if constexpr (OP == Ew::SCALE) {
        return a * s;
    } else if constexpr (OP == Ew::SWIGLU) {
        return a / (1.0f + expf(-a)) * b;  // silu(a)·b; a → −∞ gives −0·b, as the reference
    } else {
        const float k = 0.7978845608028654f;  // sqrt(2/π)
        return 0.5f * a * (1.0f + tanhf(k * (a + 0.044715f * a * a * a))) * b;
    }
}

template <Ew OP>
__global__ void ew_kernel(View a, View b, View out, float s) {
    const int64_t d = a.ne[0], rows = view_rows(a);
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const float* ar = reinterpret_cast<const float*>(a.base + view_row_offset(a, r));
        const float* br = nullptr;
        if constexpr (OP == Ew::ADD) br = reinterpret_cast<const float*>(b.base + broadcast_row_offset(a, b, r));
        else if constexpr (OP != Ew::SCALE) br = reinterpret_cast<const float*>(b.base + view_row_offset(b, r));
        float* yr = reinterpret_cast<float*>(out.base + view_row_offset(out, r));
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < d;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x)
            yr[i] = ew_apply<OP>(ar[i], br ? br[i] : 0.0f, s);
    }
}

template <Ew OP>
void launch_ew(const OpContext& ctx, const aph_graph& g, const aph_node& n, const char* name) {
    const View a = make_view(g, n.src[0]);
    const View b = OP == Ew::SCALE ? View{} : make_view(g, n.src[1]);
    const View out = make_view(g, n.dst);
    if (view_rows(a) == 0 || a.ne[0] == 0) return;
    ew_kernel<OP><<<row_grid(a.ne[0], view_rows(a), kThreads), kThreads, 0, ctx.lc.stream>>>(a, b, out, n.fparams[0]);
    cuda_check_launch(name);
}

}  // namespace

void launch_rms_norm(const OpContext& ctx, const aph_graph& g, const aph_node& n) {
    const View x = make_view(g, n.src[0]);
    const bool has_w = n.src[1] >= 0;
    const View w = has_w ? make_view(g, n.src[1]) : View{};
    const View out = make_view(g, n.dst);
    const int64_t rows = view_rows(x);
    if (rows == 0) return;
    const int threads = norm_threads(x.ne[0]);
    const unsigned blocks = static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
    rms_norm_kernel<<<blocks, threads, 0, ctx.lc.stream>>>(x, w, has_w, out, n.fparams[0]);
    cuda_check_launch("rms_norm_kernel");
}

void launch_add_rms_norm(const OpContext& ctx, const aph_graph& g, const aph_node& add, const aph_node& norm) {
    const View a = make_view(g, add.src[0]);
    const View b = make_view(g, add.src[1]);
    const View y = make_view(g, add.dst);
    const bool has_w = norm.src[1] >= 0;
    const View w = has_w ? make_view(g, norm.src[1]) : View{};
    const View out = make_view(g, norm.dst);
    const int64_t rows = view_rows(a);
    if (rows == 0) return;
    const unsigned blocks = static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
    add_rms_norm_kernel<<<blocks, norm_threads(a.ne[0]), 0, ctx.lc.stream>>>(a, b, y, w, has_w, out, norm.fparams[0]);
    cuda_check_launch("add_rms_norm_kernel");
}

void launch_add(const OpContext& ctx, const aph_graph& g, const aph_node& n) { launch_ew<Ew::ADD>(ctx, g, n, "add"); }
void launch_scale(const OpContext& ctx, const aph_graph& g, const aph_node& n) {
    launch_ew<Ew::SCALE>(ctx, g, n, "scale");
}
void launch_swiglu(const OpContext& ctx, const aph_graph& g, const aph_node& n) {
    launch_ew<Ew::SWIGLU>(ctx, g, n, "swiglu");
}
void launch_geglu(const OpContext& ctx, const aph_graph& g, const aph_node& n) {
    launch_ew<Ew::GEGLU>(ctx, g, n, "geglu");
}

}  // namespace aprhost::cuda
