// Recorders of KV_STORE (rows of k/v into the cache slots the KV manager chose, f32/f16/bf16 caches) and ATTENTION
// (causal GQA over the sequence's block table: one workgroup per (query head, query), attention.glsl).
#include "vk_ops.hpp"

#include <aprhost/plugin.hpp>

#include <algorithm>

namespace aprhost::vk {

namespace {
uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }
}  // namespace

void record_kv_store(Recorder& r, const aph_graph& g, const aph_node& n) {
    const aph_tensor& x = g.tensors[n.src[0]];
    const aph_tensor& s = g.tensors[n.src[1]];
    const aph_tensor& c = g.tensors[n.dst];
    const bool per_head = x.ne[0] != c.ne[0];
    const int64_t tokens = s.ne[0];
    if (tokens == 0 || c.ne[0] == 0) return;
    const TensorWindow wx = bind_tensor(r, x, 4), ws = bind_tensor(r, s, 4);
    const uint32_t celem = c.dtype == APH_DTYPE_F32 ? 4u : 2u;
    const TensorWindow wc = bind_tensor(r, c, celem);
    // Token stride of src: per head [hd, kv_heads, n] → nb[2]; whole rows: 2-D → nb[1], else contiguous rows.
    const int64_t row = c.ne[0];
    uint32_t head_len = 0, s_s1 = 0, s_s2 = 0;
    if (per_head) {
        head_len = u32(x.ne[0]);
        s_s1 = u32(x.nb[1] / 4);
        s_s2 = u32(x.nb[2] / 4);
    } else {
        head_len = u32(row);
        s_s2 = (x.ne[2] == 1 && x.ne[3] == 1) ? u32(x.nb[1] / 4) : u32(row);
    }
    struct {
        uint32_t row, head_len, s_off, s_s1;
        uint32_t s_s2, l_off, c_off, c_row;
        uint32_t n_slots;
    } pc{u32(row), head_len, wx.off, s_s1, s_s2, ws.off, wc.off, u32(c.nb[1] / celem), u32(c.ne[1])};
    const Binding b[] = {wx.binding, ws.binding, wc.binding};
    const uint32_t spec[] = {0u, c.dtype == APH_DTYPE_F32 ? 0u : c.dtype == APH_DTYPE_F16 ? 1u : 2u};
    r.dispatch(shader("kv_store"), spec, b, &pc, sizeof(pc), static_cast<uint32_t>((row + 127) / 128), u32(tokens), 1);
}

void record_attention(Recorder& r, const aph_graph& g, const aph_node& n) {
    const aph_tensor& q = g.tensors[n.src[0]];
    const aph_tensor& k = g.tensors[n.src[1]];
    const aph_tensor& v = g.tensors[n.src[2]];
    const aph_tensor& t = g.tensors[n.src[3]];
    const aph_tensor& d = g.tensors[n.dst];
    const int64_t head_dim = q.ne[0], heads = q.ne[1], n_q = q.ne[2];
    if (head_dim == 0 || heads == 0 || n_q == 0) return;
    const int64_t kv_heads = k.ne[0] / head_dim;
    const uint32_t celem = k.dtype == APH_DTYPE_F32 ? 4u : 2u;
    const TensorWindow wq = bind_tensor(r, q, 4), wd = bind_tensor(r, d, 4), wt = bind_tensor(r, t, 4);
    const TensorWindow wk = bind_tensor(r, k, celem), wv = bind_tensor(r, v, celem);
    const int64_t n_kv = n.iparams[0];
    // Few (head, query) workgroups over a long context leave most of a GPU idle: split the kv range
    // (flash-decoding) into pieces of whole 64-entry tiles, at most 16, and merge them in a second pass.
    int64_t splits = 1, per_split = n_kv;
    if (heads * n_q <= 64 && n_kv >= 256) {
        per_split = std::max<int64_t>(128, (n_kv + 15) / 16);
        per_split = (per_split + 63) / 64 * 64;
        splits = (n_kv + per_split - 1) / per_split;
    }
    struct {
        uint32_t head_dim, group, n_q, n_kv;
        uint32_t block_size, t_off, n_slots, q_off;
        uint32_t q_s1, q_s2, d_off, d_s1;
        uint32_t d_s2, k_off, k_row, v_off;
        uint32_t v_row, kv_per_split, n_splits, heads;
        float scale;
    } pc{u32(head_dim), u32(heads / kv_heads), u32(n_q), u32(n_kv),
         static_cast<uint32_t>(n.iparams[1]), wt.off, u32(std::min(k.ne[1], v.ne[1])), wq.off,
         u32(q.nb[1] / 4), u32(q.nb[2] / 4), wd.off, u32(d.nb[1] / 4),
         u32(d.nb[2] / 4), wk.off, u32(k.nb[1] / celem), wv.off,
         u32(v.nb[1] / celem), u32(per_split), u32(splits), u32(heads), n.fparams[0]};
    if (pc.n_slots == 0) return;
    const Binding part = splits > 1 ? r.scratch(static_cast<uint64_t>(heads * n_q * splits * (head_dim + 2)) * 4)
                                    : wd.binding;
    const Binding b[] = {wq.binding, wk.binding, wv.binding, wt.binding, wd.binding, part};
    const bool f16 = k.dtype == APH_DTYPE_F16;
    const bool sg = r.caps().subgroup_arithmetic;
    const char* name = f16 ? (sg ? "attention_f16" : "attention_f16_nosg") : (sg ? "attention_f32" : "attention_f32_nosg");
    r.dispatch(shader(name), {}, b, &pc, sizeof(pc), u32(heads), u32(n_q), u32(splits));
    if (splits == 1) return;
    r.barrier();  // the partials are read by the combine pass
    struct {
        uint32_t head_dim, n_splits, heads, d_off;
        uint32_t d_s1, d_s2;
    } cc{u32(head_dim), u32(splits), u32(heads), wd.off, u32(d.nb[1] / 4), u32(d.nb[2] / 4)};
    const Binding cb[] = {part, wd.binding};
    r.dispatch(shader("attention_combine"), {}, cb, &cc, sizeof(cc), u32(heads), u32(n_q), 1);
}

}  // namespace aprhost::vk
