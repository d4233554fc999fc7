#include <aprhost/core/transformer_graph.hpp>

#include <cmath>
#include <string>

namespace aprhost::core {

namespace {
constexpr uint64_t kAlign = 64;
uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
}  // namespace

StepLayout StepLayout::compute(const HyperParams& hp, uint32_t n, uint32_t n_logits, uint32_t n_blocks) {
    StepLayout l;
    l.n_tokens = n;
    l.n_logits = n_logits;
    l.n_blocks = n_blocks;
    uint64_t off = 0;
    auto take_i32 = [&](uint64_t count) {
        uint64_t o = off;
        off = align_up(off + count * 4);
        return o;
    };
    l.off_ids = take_i32(n);
    l.off_pos = take_i32(n);
    l.off_slots = take_i32(n);
    l.off_blocks = take_i32(n_blocks);
    l.off_logit_rows = take_i32(n_logits);
    l.inputs_bytes = off;

    off = 0;
    auto take_f32 = [&](int64_t rows) {
        uint64_t o = off;
        off = align_up(off + uint64_t(rows) * n * 4);
        return o;
    };
    const int64_t E = hp.n_embd, Q = hp.n_head * hp.head_dim, KV = hp.n_head_kv * hp.head_dim;
    l.off_x = take_f32(E);
    l.off_x2 = take_f32(E);
    l.off_xn = take_f32(E);
    l.off_q = take_f32(Q);
    l.off_k = take_f32(KV);
    l.off_v = take_f32(KV);
    l.off_att = take_f32(Q);
    l.off_o = take_f32(E);
    l.off_gate = take_f32(hp.n_ff);
    l.off_up = take_f32(hp.n_ff);
    l.off_xsel = off;
    off = align_up(off + uint64_t(E) * n_logits * 4);
    l.off_logits = off;
    off = align_up(off + uint64_t(hp.n_vocab) * n_logits * 4);
    l.activations_bytes = off;
    return l;
}

void build_transformer_step(StepGraph& g, const Model& model, const KvCache& kv, const StepLayout& L,
                            const StepBuffers& B, const std::vector<StepPiece>& pieces) {
    const HyperParams& hp = model.hparams();
    const ModelDesc& d = model.desc();
    const int64_t n = L.n_tokens, E = hp.n_embd, hd = hp.head_dim;
    const int64_t Q = hp.n_head * hd, KV = hp.n_head_kv * hd, F = hp.n_ff;
    auto act = [&](uint64_t off, std::initializer_list<int64_t> ne) {
        return g.add_tensor(make_tensor(APH_DTYPE_F32, ne, B.activations, off));
    };
    auto in_i32 = [&](uint64_t off, int64_t count) {
        return g.add_tensor(make_tensor(APH_DTYPE_I32, {count}, B.inputs, off));
    };
    auto weight = [&](const TensorRef* t) { return t ? g.add_tensor(model.weight(t)) : -1; };

    const int32_t ids = in_i32(L.off_ids, n);
    const int32_t pos = in_i32(L.off_pos, n);
    const int32_t slots = in_i32(L.off_slots, n);
    // Per-piece views: the piece's queries / outputs (columns) and its block table.
    struct PieceViews {
        int32_t q3, att3, blocks;
    };
    std::vector<PieceViews> views;
    for (auto& p : pieces) {
        const uint64_t col_off = uint64_t(p.col0) * uint64_t(hp.n_head * hd) * 4;
        views.push_back({g.add_tensor(make_tensor(APH_DTYPE_F32, {hd, hp.n_head, p.n}, B.activations, L.off_q + col_off)),
                         g.add_tensor(make_tensor(APH_DTYPE_F32, {hd, hp.n_head, p.n}, B.activations, L.off_att + col_off)),
                         in_i32(L.off_blocks + uint64_t(p.block0) * 4, p.n_blocks)});
    }

    // Residual stream ping-pongs between x and x2 so no op writes its own input (except RoPE, allowed in place).
    int32_t x = act(L.off_x, {E, n});
    int32_t x_other = act(L.off_x2, {E, n});
    const int32_t xn = act(L.off_xn, {E, n});
    const int32_t q = act(L.off_q, {Q, n});
    const int32_t k = act(L.off_k, {KV, n});
    const int32_t v = act(L.off_v, {KV, n});
    const int32_t q3 = act(L.off_q, {hd, hp.n_head, n});
    const int32_t k3 = act(L.off_k, {hd, hp.n_head_kv, n});
    const int32_t v3 = act(L.off_v, {hd, hp.n_head_kv, n});
    const int32_t att = act(L.off_att, {Q, n});
    const int32_t o = act(L.off_o, {E, n});
    const int32_t gate = act(L.off_gate, {F, n});
    const int32_t up = act(L.off_up, {F, n});

    g.add_node(APH_OP_GET_ROWS, {weight(d.tok_embd), ids}, x, "token_embd");
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    for (size_t il = 0; il < d.layers.size(); ++il) {
        const LayerWeights& w = d.layers[il];
        const std::string p = "blk." + std::to_string(il) + ".";
        g.add_node(APH_OP_RMS_NORM, {x, weight(w.attn_norm)}, xn, p + "attn_norm", {}, {hp.rms_eps});
        g.add_node(APH_OP_MUL_MAT, {weight(w.wq), xn, weight(w.bq)}, q, p + "attn_q");
        g.add_node(APH_OP_MUL_MAT, {weight(w.wk), xn, weight(w.bk)}, k, p + "attn_k");
        g.add_node(APH_OP_MUL_MAT, {weight(w.wv), xn, weight(w.bv)}, v, p + "attn_v");
        g.add_node(APH_OP_ROPE, {q3, pos}, q3, p + "rope_q", {hp.rope_mode, hp.n_rot},
                   {hp.rope_freq_base, hp.rope_freq_scale});
        g.add_node(APH_OP_ROPE, {k3, pos}, k3, p + "rope_k", {hp.rope_mode, hp.n_rot},
                   {hp.rope_freq_base, hp.rope_freq_scale});
        const int32_t kc = g.add_tensor(kv.k_tensor(static_cast<uint32_t>(il)));
        const int32_t vc = g.add_tensor(kv.v_tensor(static_cast<uint32_t>(il)));
        g.add_node(APH_OP_KV_STORE, {k3, slots}, kc, p + "kv_store_k");
        g.add_node(APH_OP_KV_STORE, {v3, slots}, vc, p + "kv_store_v");
        for (size_t ip = 0; ip < pieces.size(); ++ip)
            g.add_node(APH_OP_ATTENTION, {views[ip].q3, kc, vc, views[ip].blocks}, views[ip].att3,
                       pieces.size() == 1 ? p + "attention" : p + "attention.seq" + std::to_string(ip),
                       {static_cast<int32_t>(pieces[ip].n_kv), static_cast<int32_t>(pieces[ip].block_size)}, {scale});
        g.add_node(APH_OP_MUL_MAT, {weight(w.wo), att}, o, p + "attn_output");
        g.add_node(APH_OP_ADD, {x, o}, x_other, p + "attn_residual");
        std::swap(x, x_other);
        g.add_node(APH_OP_RMS_NORM, {x, weight(w.ffn_norm)}, xn, p + "ffn_norm", {}, {hp.rms_eps});
        g.add_node(APH_OP_MUL_MAT, {weight(w.w_gate), xn}, gate, p + "ffn_gate");
        g.add_node(APH_OP_MUL_MAT, {weight(w.w_up), xn}, up, p + "ffn_up");
        g.add_node(APH_OP_SWIGLU, {gate, up}, gate, p + "ffn_swiglu");
        g.add_node(APH_OP_MUL_MAT, {weight(w.w_down), gate}, o, p + "ffn_down");
        g.add_node(APH_OP_ADD, {x, o}, x_other, p + "ffn_residual");
        std::swap(x, x_other);
    }
    // Only the selected columns go through the final norm and the (large) output head; none for a step that only
    // fills the cache. One piece: its last columns are a view. Several: gather the columns with GET_ROWS.
    const int64_t nl = L.n_logits;
    if (nl == 0) return;
    const aph_tensor& xt = g.tensors()[static_cast<size_t>(x)];
    int32_t x_tail;
    if (pieces.size() == 1) {
        const uint64_t first = uint64_t(n - nl) * uint64_t(E) * 4;
        x_tail = g.add_tensor(make_tensor(APH_DTYPE_F32, {E, nl}, B.activations, xt.offset + first));
    } else {
        const int32_t x_all = g.add_tensor(make_tensor(APH_DTYPE_F32, {E, n}, B.activations, xt.offset));
        x_tail = act(L.off_xsel, {E, nl});
        g.add_node(APH_OP_GET_ROWS, {x_all, in_i32(L.off_logit_rows, nl)}, x_tail, "select_logit_rows");
    }
    const int32_t xn_tail = act(L.off_xn, {E, nl});
    const int32_t logits = act(L.off_logits, {hp.n_vocab, nl});
    g.add_node(APH_OP_RMS_NORM, {x_tail, weight(d.output_norm)}, xn_tail, "output_norm", {}, {hp.rms_eps});
    g.add_node(APH_OP_MUL_MAT, {weight(d.output), xn_tail}, logits, "output");
}

}  // namespace aprhost::core
