// Recorders of the row-wise f32 ops (RMS_NORM, ADD with broadcast, SCALE, SWIGLU, GEGLU), COPY (f32 ⇄ f16/bf16) and
// ROPE. Each binds its tensors whole (validation guarantees they fit one binding) and passes element offsets and
// strides as push constants; rows are flattened (i1, i2, i3) and decomposed again in the shader.
#include "vk_ops.hpp"

#include <aprhost/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace aprhost::vk {

namespace {

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

uint32_t fp_code(uint32_t dtype) { return dtype == APH_DTYPE_F32 ? 0u : dtype == APH_DTYPE_F16 ? 1u : 2u; }

uint32_t elem_bytes(uint32_t dtype) { return dtype == APH_DTYPE_F32 || dtype == APH_DTYPE_I32 ? 4u : 2u; }

// Invocations of 128 striding over a row of ne0 elements: enough groups to cover it, at most 64.
uint32_t row_groups(int64_t ne0) { return static_cast<uint32_t>(std::clamp<int64_t>((ne0 + 127) / 128, 1, 64)); }

}  // namespace

TensorWindow bind_tensor(Recorder& r, const aph_tensor& t, uint32_t unit) {
    TensorWindow w;
    uint32_t shift = 0;
    w.binding = r.bind(t, 0, std::max<uint64_t>(tensor_span(t), unit), &shift);
    if (shift % unit != 0) throw sdk::Error(APH_STATUS_INTERNAL, "binding shift is not a whole number of elements");
    w.off = shift / unit;
    w.s1 = t.ne[1] == 1 ? 0 : u32(t.nb[1] / unit);
    w.s2 = t.ne[2] == 1 ? 0 : u32(t.nb[2] / unit);
    w.s3 = t.ne[3] == 1 ? 0 : u32(t.nb[3] / unit);
    return w;
}

void split_rows(const DeviceCaps& caps, uint64_t rows, uint32_t& gy, uint32_t& gz) {
    const uint64_t ymax = std::max<uint32_t>(1, std::min<uint32_t>(caps.max_workgroup_count[1], 65535));
    gy = static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(rows, 1), ymax));
    gz = static_cast<uint32_t>((rows + gy - 1) / gy);
    if (gz == 0) gz = 1;
    if (gz > caps.max_workgroup_count[2]) throw sdk::Error(APH_STATUS_UNSUPPORTED, "too many rows for one dispatch");
}

void record_rms_norm(Recorder& r, const aph_graph& g, const aph_node& n) {
    const aph_tensor& x = g.tensors[n.src[0]];
    const aph_tensor& d = g.tensors[n.dst];
    const bool has_w = n.src[1] >= 0;
    const TensorWindow wx = bind_tensor(r, x, 4), wd = bind_tensor(r, d, 4);
    const TensorWindow ww = has_w ? bind_tensor(r, g.tensors[n.src[1]], 4) : wx;
    struct {
        uint32_t ne0, ne1, ne2, rows;
        uint32_t x_off, x_s1, x_s2, x_s3;
        uint32_t d_off, d_s1, d_s2, d_s3;
        uint32_t w_off, has_w;
        float eps;
    } pc{u32(x.ne[0]), u32(x.ne[1]), u32(x.ne[2]), u32(x.ne[1] * x.ne[2] * x.ne[3]),
         wx.off, wx.s1, wx.s2, wx.s3, wd.off, wd.s1, wd.s2, wd.s3, ww.off, has_w ? 1u : 0u, n.fparams[0]};
    if (pc.rows == 0 || pc.ne0 == 0) return;
    const Binding b[] = {wx.binding, ww.binding, wd.binding};
    // One workgroup per row; rows beyond the x limit continue in y.
    const uint32_t gx = std::min<uint32_t>(pc.rows, std::min<uint32_t>(r.caps().max_workgroup_count[0], 65535));
    const uint32_t gy = (pc.rows + gx - 1) / gx;
    r.dispatch(shader(r.caps().subgroup_arithmetic ? "rms_norm" : "rms_norm_nosg"), {}, b, &pc, sizeof(pc), gx, gy, 1);
}

void record_elementwise(Recorder& r, const aph_graph& g, const aph_node& n) {
    const aph_tensor& a = g.tensors[n.src[0]];
    const aph_tensor& d = g.tensors[n.dst];
    const bool has_b = n.op != APH_OP_SCALE;
    const TensorWindow wa = bind_tensor(r, a, 4), wd = bind_tensor(r, d, 4);
    // ADD broadcasts src1 along every dim where it has extent 1: bind_tensor gives those dims stride 0.
    const TensorWindow wb = has_b ? bind_tensor(r, g.tensors[n.src[1]], 4) : wa;
    const uint32_t op = n.op == APH_OP_ADD ? 0u : n.op == APH_OP_SWIGLU ? 1u : n.op == APH_OP_GEGLU ? 2u : 3u;
    struct {
        uint32_t ne0, ne1, ne2, rows;
        uint32_t a_off, a_s1, a_s2, a_s3;
        uint32_t b_off, b_s1, b_s2, b_s3;
        uint32_t d_off, d_s1, d_s2, d_s3;
        float s;
    } pc{u32(a.ne[0]), u32(a.ne[1]), u32(a.ne[2]), u32(a.ne[1] * a.ne[2] * a.ne[3]),
         wa.off, wa.s1, wa.s2, wa.s3, wb.off, wb.s1, wb.s2, wb.s3, wd.off, wd.s1, wd.s2, wd.s3,
         op == 3u ? n.fparams[0] : 0.0f};
    if (pc.rows == 0 || pc.ne0 == 0) return;
    const Binding b[] = {wa.binding, wb.binding, wd.binding};
    const uint32_t spec[] = {0u, op};
    uint32_t gy = 0, gz = 0;
    split_rows(r.caps(), pc.rows, gy, gz);
    r.dispatch(shader("binary"), spec, b, &pc, sizeof(pc), row_groups(a.ne[0]), gy, gz);
}

void record_copy(Recorder& r, const aph_graph& g, const aph_node& n) {
    const aph_tensor& s = g.tensors[n.src[0]];
    const aph_tensor& d = g.tensors[n.dst];
    TensorWindow ws = bind_tensor(r, s, elem_bytes(s.dtype)), wd = bind_tensor(r, d, elem_bytes(d.dtype));
    bool same = true;
    for (int i = 0; i < APH_MAX_DIMS; ++i) same = same && s.ne[i] == d.ne[i];
    int64_t ne0 = s.ne[0], ne1 = s.ne[1], ne2 = s.ne[2], ne3 = s.ne[3];
    if (!same) {
        // A reshape between contiguous tensors: one flat row.
        ne0 = s.ne[0] * s.ne[1] * s.ne[2] * s.ne[3];
        ne1 = ne2 = ne3 = 1;
        ws.s1 = ws.s2 = ws.s3 = wd.s1 = wd.s2 = wd.s3 = 0;
    }
    struct {
        uint32_t ne0, ne1, ne2, rows;
        uint32_t s_off, s_s1, s_s2, s_s3;
        uint32_t d_off, d_s1, d_s2, d_s3;
    } pc{u32(ne0), u32(ne1), u32(ne2), u32(ne1 * ne2 * ne3), ws.off, ws.s1, ws.s2, ws.s3, wd.off, wd.s1, wd.s2, wd.s3};
    if (pc.rows == 0 || pc.ne0 == 0) return;
    const Binding b[] = {ws.binding, wd.binding};
    const uint32_t spec[] = {0u, fp_code(s.dtype), fp_code(d.dtype)};
    uint32_t gy = 0, gz = 0;
    split_rows(r.caps(), pc.rows, gy, gz);
    r.dispatch(shader("copy"), spec, b, &pc, sizeof(pc), row_groups(ne0), gy, gz);
}

void record_rope(Recorder& r, const aph_graph& g, const aph_node& n) {
    const aph_tensor& x = g.tensors[n.src[0]];
    const aph_tensor& p = g.tensors[n.src[1]];
    const aph_tensor& d = g.tensors[n.dst];
    const int64_t head_dim = x.ne[0], heads = x.ne[1], tokens = x.ne[2];
    const int64_t n_rot = n.iparams[1], half = n_rot / 2;
    if (head_dim == 0 || heads == 0 || tokens == 0) return;
    // theta_i = freq_scale · base^(−2i/n_rot) in double, as the CPU backend forms it, split into a float pair so
    // the shader can rebuild it (to ~48 bits) without double constants of its own.
    std::vector<float> theta(static_cast<size_t>(2 * std::max<int64_t>(half, 1)));
    for (int64_t i = 0; i < half; ++i) {
        const double t = static_cast<double>(n.fparams[1]) *
                         std::pow(static_cast<double>(n.fparams[0]), -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
        const float hi = static_cast<float>(t);
        theta[static_cast<size_t>(2 * i)] = hi;
        theta[static_cast<size_t>(2 * i + 1)] = static_cast<float>(t - static_cast<double>(hi));
    }
    const Binding tb = r.constants(theta.data(), theta.size() * sizeof(float));
    const TensorWindow wx = bind_tensor(r, x, 4), wp = bind_tensor(r, p, 4), wd = bind_tensor(r, d, 4);
    struct {
        uint32_t head_dim, n_rot, mode, p_off;
        uint32_t x_off, x_s1, x_s2, t_off;
        uint32_t d_off, d_s1, d_s2;
    } pc{u32(head_dim), u32(n_rot), static_cast<uint32_t>(n.iparams[0]), wp.off,
         wx.off, u32(x.nb[1] / 4), u32(x.nb[2] / 4), 0u, wd.off, u32(d.nb[1] / 4), u32(d.nb[2] / 4)};
    const Binding b[] = {wx.binding, wp.binding, tb, wd.binding};
    r.dispatch(shader(r.caps().shader_float64 ? "rope" : "rope_f32"), {}, b, &pc, sizeof(pc),
               static_cast<uint32_t>((head_dim + 63) / 64), u32(heads), u32(tokens));
}

}  // namespace aprhost::vk
