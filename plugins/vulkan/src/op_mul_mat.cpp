// MUL_MAT on Vulkan: dst[out, n] f32 = W[in, out] (any weight dtype) × x[in, n] f32 (+ bias[out]).
// Two kernels per weight dtype (shaders/mul_mat_vec.glsl and mul_mat_mm.glsl, instantiated per dtype):
//   - n ≤ 8 columns (decode; up to 32 on CPU implementations, see vec_max_columns): mul_mat_vec_<dtype>,
//     dequantisation fused with the dot products, one workgroup per NR rows, 8 columns per dispatch; the _nosg
//     variant replaces subgroupAdd by a shared-memory tree on devices without subgroup arithmetic;
//   - more columns (prefill): mul_mat_mm_<dtype>, 64 × TN output tiles (TN = 16, 32 or 64 by the column count)
//     with the dequantised weight tile in shared memory.
// Tensors larger than one storage-buffer binding (maxStorageBufferRange: 128 MiB on lavapipe, less than a 7B
// model's output matrix) are cut into row windows of W (with the matching rows of dst and bias) and column chunks
// of x/dst; every (chunk, window) pair is one dispatch with its own bindings.
#include "quant_layout.hpp"
#include "vk_kernel_api.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace aprhost::vk {

namespace {

constexpr uint64_t kVecMaxCols = 8;    // MAX_NC of mul_mat_vec.glsl
constexpr uint64_t kTileRows = 64;     // TM of mul_mat_mm.glsl; TN = 16·NJ
constexpr uint32_t kTileThreads = 256;
constexpr uint32_t kTileShared = 2 * 32 * 64 * 4;

// The push-constant block of both shaders (mul_mat_vec reads all but ncols).
struct Push {
    uint32_t w_off, w_stride, x_off, x_stride, d_off, d_stride, b_off, rows, k, has_bias, ncols;
};

// mul_mat_vec's workgroup: (threads WG, rows NR). Two subgroups' worth of threads (16 .. 128) and two rows on
// GPUs; CPU implementations (lavapipe: subgroups of 8) run a workgroup's subgroups one after the other and pay
// for every barrier, so there 16 threads × 4 rows measured about 2× faster than 64 × 2 (Q4_K/Q4_0/Q8_0 GEMV,
// 3584 × 3584). Both are powers of two within the shader's limits (NR ≤ MAX_NR = 4).
struct VecShape {
    uint32_t threads, rows;
};
VecShape vec_shape(const DeviceCaps& caps) {
    uint32_t threads = 16;
    while (threads < 2 * caps.subgroup_size && threads < 128) threads *= 2;
    threads = std::min(threads, std::max<uint32_t>(caps.max_workgroup_invocations, 16));
    return {threads, threads <= 16 ? 4u : 2u};
}

// Above how many columns the tiled kernel takes over from mul_mat_vec (run in chunks of 8 columns). On GPUs the
// tiled kernel reuses each dequantised weight 16..64 times from shared memory: above 8 columns. CPU
// implementations (subgroups of at most 8 lanes: lavapipe, SwiftShader) emulate shared memory and barriers
// slowly: on lavapipe 8-column passes of mul_mat_vec measured 2-10× faster than the tiled kernel at every column
// count (Q4_K 3584 × 3584, n = 9..64), so there it is used up to 32 columns and the tiled kernel (still the one
// a GPU runs, and covered by the conformance cases with more columns) only above.
uint64_t vec_max_columns(const DeviceCaps& caps) { return caps.subgroup_size <= 8 ? 32 : kVecMaxCols; }

bool tiled_kernel_fits(const DeviceCaps& caps) {
    return caps.max_workgroup_invocations >= kTileThreads && caps.max_shared_memory >= kTileShared;
}

}  // namespace

std::string mul_mat_unsupported(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    if (n.src[0] < 0 || n.src[1] < 0) return "MUL_MAT needs src0 (weights) and src1 (activations)";
    const aph_tensor& w = g.tensors[n.src[0]];
    const aph_tensor& x = g.tensors[n.src[1]];
    const aph_tensor& d = g.tensors[n.dst];
    std::string r;
    if (!(r = quant::check_weights(w, "MUL_MAT weights")).empty()) return r;
    if (!(r = quant::check_columns(x, APH_DTYPE_F32, "MUL_MAT src1")).empty()) return r;
    if (!(r = quant::check_columns(d, APH_DTYPE_F32, "MUL_MAT dst")).empty()) return r;
    if (x.ne[0] != w.ne[0]) return "MUL_MAT inner sizes differ";
    if (d.ne[0] != w.ne[1] || d.ne[1] != x.ne[1] || d.ne[2] != x.ne[2] || d.ne[3] != x.ne[3])
        return "MUL_MAT dst shape does not match weights x activations";
    if (n.src[2] >= 0) {
        const aph_tensor& b = g.tensors[n.src[2]];
        if (!(r = quant::check_columns(b, APH_DTYPE_F32, "MUL_MAT bias")).empty()) return r;
        if (b.ne[0] != w.ne[1] || quant::columns(b) != 1) return "MUL_MAT bias must be [out rows]";
    }
    const uint64_t limit = quant::binding_limit(caps);
    const uint64_t rb = ref::row_bytes(w.dtype, w.ne[0]);
    // One row of W, one column of x and (at the least) one kernel-width of dst must fit one binding.
    if (rb > limit || 4 * static_cast<uint64_t>(x.ne[0]) > limit)
        return "MUL_MAT row of " + std::to_string(w.ne[0]) + " elements exceeds one storage-buffer binding";
    return "";
}

void record_mul_mat(Recorder& rec, const aph_graph& g, const aph_node& n) {
    const DeviceCaps& caps = rec.caps();
    const aph_tensor& w = g.tensors[n.src[0]];
    const aph_tensor& x = g.tensors[n.src[1]];
    const aph_tensor& d = g.tensors[n.dst];
    const aph_tensor* bias = n.src[2] >= 0 ? &g.tensors[n.src[2]] : nullptr;

    const uint64_t k = static_cast<uint64_t>(w.ne[0]);
    const uint64_t m = static_cast<uint64_t>(w.ne[1]);
    const uint64_t cols = quant::columns(x);
    if (m == 0 || cols == 0) return;
    const uint64_t unit = quant::storage_unit(w.dtype);
    const uint64_t rb = ref::row_bytes(w.dtype, w.ne[0]);
    const uint64_t w_stride = m > 1 ? static_cast<uint64_t>(w.nb[1]) : rb;
    const uint64_t x_stride = static_cast<uint64_t>(x.nb[1]), d_stride = static_cast<uint64_t>(d.nb[1]);
    const uint64_t limit = quant::binding_limit(caps);

    const bool tiled = cols > vec_max_columns(caps) && tiled_kernel_fits(caps);
    const std::string shader_name = std::string(tiled ? "mul_mat_mm_" : "mul_mat_vec_") + quant::dtype_suffix(w.dtype) +
                                    (!tiled && !caps.subgroup_arithmetic ? "_nosg" : "");
    const ShaderBlob& shader = vk::shader(shader_name);

    // Column chunk: what the kernel takes at once, what fits x's binding, and (for dst) at most half a binding so
    // that the row windows stay large.
    const uint32_t nj = cols <= 16 ? 1 : cols <= 32 ? 2 : 4;  // columns per thread of the tiled kernel
    const uint64_t tile_cols = 16 * nj;
    uint64_t chunk = tiled ? std::min<uint64_t>(cols, tile_cols * std::max<uint32_t>(caps.max_workgroup_count[1], 1))
                           : std::min(cols, kVecMaxCols);
    chunk = std::min(chunk, quant::fit(limit, x_stride, 4 * k));
    while (chunk > 1 && (chunk - 1) * d_stride > limit / 2) chunk /= 2;
    // Row window: what fits W's binding and dst's (chunk columns of `rows` floats), and the workgroup-count limits.
    uint64_t window = std::min(m, quant::fit(limit, w_stride, rb));
    window = std::min(window, (limit - (chunk - 1) * d_stride) / 4);
    const uint64_t max_x = std::max<uint32_t>(caps.max_workgroup_count[0], 1);
    const uint64_t max_y = std::max<uint32_t>(caps.max_workgroup_count[1], 1);
    const VecShape vs = vec_shape(caps);
    window = std::min(window, tiled ? kTileRows * max_x : vs.rows * max_x * max_y);
    if (chunk == 0 || window == 0)
        throw std::runtime_error("MUL_MAT: tensor rows do not fit one storage-buffer binding");

    const std::array<uint32_t, 3> vec_spec = {vs.threads, vs.rows, 0};
    for (uint64_t c0 = 0; c0 < cols; c0 += chunk) {
        const uint64_t nc = std::min(chunk, cols - c0);
        for (uint64_t r0 = 0; r0 < m; r0 += window) {
            const uint64_t nr = std::min(window, m - r0);
            uint32_t w_shift = 0, x_shift = 0, d_shift = 0, b_shift = 0;
            std::array<Binding, 4> b;
            b[0] = rec.bind(w, r0 * w_stride, quant::span(nr, w_stride, rb), &w_shift);
            b[1] = rec.bind(x, c0 * x_stride, quant::span(nc, x_stride, 4 * k), &x_shift);
            b[2] = rec.bind(d, c0 * d_stride + 4 * r0, quant::span(nc, d_stride, 4 * nr), &d_shift);
            b[3] = bias ? rec.bind(*bias, 4 * r0, 4 * nr, &b_shift) : b[1];
            Push p{};
            p.w_off = static_cast<uint32_t>(w_shift / unit);
            p.w_stride = static_cast<uint32_t>(w_stride / unit);
            p.x_off = x_shift / 4;
            p.x_stride = static_cast<uint32_t>(x_stride / 4);
            p.d_off = d_shift / 4;
            p.d_stride = static_cast<uint32_t>(d_stride / 4);
            p.b_off = b_shift / 4;
            p.rows = static_cast<uint32_t>(nr);
            p.k = static_cast<uint32_t>(k);
            p.has_bias = bias ? 1 : 0;
            p.ncols = static_cast<uint32_t>(nc);
            if (tiled) {
                const std::array<uint32_t, 1> spec = {nj};
                rec.dispatch(shader, spec, b, &p, sizeof p, static_cast<uint32_t>((nr + kTileRows - 1) / kTileRows),
                             static_cast<uint32_t>((nc + tile_cols - 1) / tile_cols), 1);
            } else {
                std::array<uint32_t, 3> spec = vec_spec;
                spec[2] = static_cast<uint32_t>(nc);
                const uint64_t groups = (nr + vs.rows - 1) / vs.rows;
                const uint64_t gx = std::min(groups, max_x);
                rec.dispatch(shader, spec, b, &p, sizeof p, static_cast<uint32_t>(gx),
                             static_cast<uint32_t>((groups + gx - 1) / gx), 1);
            }
        }
    }
}

}  // namespace aprhost::vk
