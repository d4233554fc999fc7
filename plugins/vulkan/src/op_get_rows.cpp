// GET_ROWS on Vulkan: dst[d, n] f32 = rows ids[n] of a table [d, vocab] of any weight dtype, bitwise equal to the
// reference dequantisers (shaders/get_rows.glsl, instantiated per dtype as get_rows_<dtype>).
// The ids live on the device, so a table larger than one storage-buffer binding (a 7B model's token_embd) is
// bound as row windows, one dispatch each, and every dispatch writes only the ids inside its window; the first
// also zero-fills ids outside [0, vocab). Ids/dst are cut into chunks when they exceed a binding or the
// workgroup-count limit.
#include "quant_layout.hpp"
#include "vk_kernel_api.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace aprhost::vk {

namespace {

constexpr uint64_t kThreads = 64;  // WG of get_rows.glsl

struct Push {
    uint32_t w_off, w_stride, ids_off, d_off, d_stride, row_lo, row_count, k, vocab, zero_invalid;
};

}  // namespace

std::string get_rows_unsupported(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    if (n.src[0] < 0 || n.src[1] < 0) return "GET_ROWS needs src0 (table) and src1 (ids)";
    const aph_tensor& t = g.tensors[n.src[0]];
    const aph_tensor& ids = g.tensors[n.src[1]];
    const aph_tensor& d = g.tensors[n.dst];
    std::string r;
    if (!(r = quant::check_weights(t, "GET_ROWS table")).empty()) return r;
    if (!(r = quant::check_columns(ids, APH_DTYPE_I32, "GET_ROWS ids")).empty()) return r;
    if (!(r = quant::check_columns(d, APH_DTYPE_F32, "GET_ROWS dst")).empty()) return r;
    if (ids.ne[1] != 1 || ids.ne[2] != 1 || ids.ne[3] != 1) return "GET_ROWS ids must be 1-D";
    if (d.ne[0] != t.ne[0] || d.ne[1] != ids.ne[0] || d.ne[2] != 1 || d.ne[3] != 1)
        return "GET_ROWS dst must be [row length, ids]";
    if (t.ne[1] == 0) return "GET_ROWS table has no rows";
    if (t.ne[1] > INT32_MAX) return "GET_ROWS table has more rows than an i32 id can name";
    const uint64_t limit = quant::binding_limit(caps);
    if (ref::row_bytes(t.dtype, t.ne[0]) > limit || 4 * static_cast<uint64_t>(t.ne[0]) > limit)
        return "GET_ROWS row of " + std::to_string(t.ne[0]) + " elements exceeds one storage-buffer binding";
    return "";
}

void record_get_rows(Recorder& rec, const aph_graph& g, const aph_node& n) {
    const DeviceCaps& caps = rec.caps();
    const aph_tensor& t = g.tensors[n.src[0]];
    const aph_tensor& ids = g.tensors[n.src[1]];
    const aph_tensor& d = g.tensors[n.dst];

    const uint64_t k = static_cast<uint64_t>(t.ne[0]);
    const uint64_t vocab = static_cast<uint64_t>(t.ne[1]);
    const uint64_t count = static_cast<uint64_t>(ids.ne[0]);
    if (count == 0) return;
    const uint64_t unit = quant::storage_unit(t.dtype);
    const uint64_t rb = ref::row_bytes(t.dtype, t.ne[0]);
    const uint64_t t_stride = vocab > 1 ? static_cast<uint64_t>(t.nb[1]) : rb;
    const uint64_t d_stride = static_cast<uint64_t>(d.nb[1]);
    const uint64_t limit = quant::binding_limit(caps);
    const ShaderBlob& shader = vk::shader(std::string("get_rows_") + quant::dtype_suffix(t.dtype));

    const uint64_t max_x = std::max<uint32_t>(caps.max_workgroup_count[0], 1);
    const uint64_t max_y = std::max<uint32_t>(caps.max_workgroup_count[1], 1);
    const uint64_t chunk = std::min({count, max_y, quant::fit(limit, d_stride, 4 * k), limit / 4});
    const uint64_t window = std::min(vocab, quant::fit(limit, t_stride, rb));
    if (chunk == 0 || window == 0) throw std::runtime_error("GET_ROWS: rows do not fit one storage-buffer binding");
    const uint64_t items = (k + 7) / 8;  // runs of SUBLEN = 8 elements per row (get_rows.glsl)
    const uint32_t gx = static_cast<uint32_t>(std::min((items + kThreads - 1) / kThreads, max_x));

    for (uint64_t j0 = 0; j0 < count; j0 += chunk) {
        const uint64_t nj = std::min(chunk, count - j0);
        for (uint64_t r0 = 0; r0 < vocab; r0 += window) {
            const uint64_t nr = std::min(window, vocab - r0);
            uint32_t t_shift = 0, i_shift = 0, d_shift = 0;
            std::array<Binding, 3> b;
            b[0] = rec.bind(t, r0 * t_stride, quant::span(nr, t_stride, rb), &t_shift);
            b[1] = rec.bind(ids, 4 * j0, 4 * nj, &i_shift);
            b[2] = rec.bind(d, j0 * d_stride, quant::span(nj, d_stride, 4 * k), &d_shift);
            Push p{};
            p.w_off = static_cast<uint32_t>(t_shift / unit);
            p.w_stride = static_cast<uint32_t>(t_stride / unit);
            p.ids_off = i_shift / 4;
            p.d_off = d_shift / 4;
            p.d_stride = static_cast<uint32_t>(d_stride / 4);
            p.row_lo = static_cast<uint32_t>(r0);
            p.row_count = static_cast<uint32_t>(nr);
            p.k = static_cast<uint32_t>(k);
            p.vocab = static_cast<uint32_t>(vocab);
            p.zero_invalid = r0 == 0 ? 1 : 0;
            rec.dispatch(shader, {}, b, &p, sizeof p, gx, static_cast<uint32_t>(nj), 1);
        }
    }
}

}  // namespace aprhost::vk
