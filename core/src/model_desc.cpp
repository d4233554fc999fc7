#include <aprhost/core/error.hpp>
#include <aprhost/core/model_desc.hpp>

#include <array>
#include <cmath>

namespace aprhost::core {

namespace {

struct ArchEntry {
    const char* name;
    ModelDesc (*build)(const ModelFile&);
};
const std::array<ArchEntry, 2> kArchitectures = {{{"llama", &detail::build_llama}, {"qwen2", &detail::build_qwen2}}};

std::string dims_string(std::initializer_list<int64_t> dims) {
    std::string s = "[";
    bool first = true;
    for (auto d : dims) s += (first ? "" : ", ") + std::to_string(d), first = false;
    return s + "]";
}

class TensorLookup {
public:
    explicit TensorLookup(const ModelFile& f) : f_(f) {}
    // The tensor, checked against the expected GGUF dims; nullptr only when optional and absent.
    const TensorRef* get(const std::string& name, std::initializer_list<int64_t> dims, bool optional = false) const {
        const TensorRef* t = f_.find_tensor(name);
        if (!t) {
            if (optional) return nullptr;
            throw Error(ErrorKind::BAD_INPUT, f_.path() + ": missing tensor '" + name + "'");
        }
        bool ok = t->n_dims >= 1;
        size_t i = 0;
        for (auto d : dims) ok = ok && t->ne[i++] == d;
        for (; i < APH_MAX_DIMS; ++i) ok = ok && t->ne[i] == 1;
        if (!ok)
            throw Error(ErrorKind::BAD_INPUT, f_.path() + ": tensor '" + name + "' has shape " + t->shape_string() +
                                                  ", expected " + dims_string(dims));
        return t;
    }

private:
    const ModelFile& f_;
};

int64_t require_int(const Metadata& m, const std::string& key, const std::string& path) {
    auto v = m.get_int(key);
    if (!v) throw Error(ErrorKind::BAD_INPUT, path + ": missing metadata key '" + key + "'");
    if (*v <= 0 || *v > (int64_t(1) << 31))
        throw Error(ErrorKind::BAD_INPUT, path + ": metadata key '" + key + "' has implausible value " +
                                              std::to_string(*v));
    return *v;
}

}  // namespace

std::vector<std::string> supported_architectures() {
    std::vector<std::string> v;
    for (auto& a : kArchitectures) v.emplace_back(a.name);
    return v;
}

ModelDesc describe_model(const ModelFile& file) {
    auto arch = file.metadata().get_string("general.architecture");
    if (!arch) throw Error(ErrorKind::BAD_INPUT, file.path() + ": missing metadata key 'general.architecture'");
    for (auto& a : kArchitectures)
        if (*arch == a.name) return a.build(file);
    std::string names;
    for (auto& a : kArchitectures) names += (names.empty() ? "" : ", ") + std::string(a.name);
    throw Error(ErrorKind::BAD_INPUT,
                file.path() + ": unsupported architecture '" + *arch + "' (supported: " + names + ")");
}

uint64_t ModelDesc::weight_bytes_per_token() const {
    auto sz = [](const TensorRef* t) -> uint64_t { return t ? t->size : 0; };
    uint64_t total = 0;
    for (auto& l : layers)
        total += sz(l.attn_norm) + sz(l.wq) + sz(l.wk) + sz(l.wv) + sz(l.bq) + sz(l.bk) + sz(l.bv) + sz(l.wo) +
                 sz(l.ffn_norm) + sz(l.w_gate) + sz(l.w_up) + sz(l.w_down);
    total += sz(output_norm) + sz(output);
    if (tok_embd && hp.n_vocab > 0) total += tok_embd->size / static_cast<uint64_t>(hp.n_vocab);  // one row
    return total;
}

namespace detail {

ModelDesc build_llama_family(const ModelFile& file, const std::string& arch, const LlamaFamilyOptions& opts) {
    const Metadata& m = file.metadata();
    const std::string& path = file.path();
    ModelDesc d;
    HyperParams& hp = d.hp;
    hp.arch = arch;
    hp.n_embd = require_int(m, arch + ".embedding_length", path);
    hp.n_layer = require_int(m, arch + ".block_count", path);
    hp.n_head = require_int(m, arch + ".attention.head_count", path);
    hp.n_head_kv = m.get_int(arch + ".attention.head_count_kv").value_or(hp.n_head);
    hp.n_ff = require_int(m, arch + ".feed_forward_length", path);
    hp.n_ctx_train = m.get_int(arch + ".context_length").value_or(4096);
    hp.head_dim = m.get_int(arch + ".attention.key_length").value_or(hp.n_embd / hp.n_head);
    hp.rms_eps = static_cast<float>(m.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(1e-5));
    hp.rope_freq_base = static_cast<float>(m.get_float(arch + ".rope.freq_base").value_or(10000.0));
    hp.rope_mode = opts.rope_mode;
    hp.n_rot = static_cast<int32_t>(m.get_int(arch + ".rope.dimension_count").value_or(hp.head_dim));
    if (auto factor = m.get_float(arch + ".rope.scaling.factor"); factor && *factor > 0)
        hp.rope_freq_scale = static_cast<float>(1.0 / *factor);

    if (hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0)
        throw Error(ErrorKind::BAD_INPUT, path + ": head_count " + std::to_string(hp.n_head) +
                                              " is not a multiple of head_count_kv " + std::to_string(hp.n_head_kv));
    if (hp.head_dim <= 0 || hp.head_dim % 2 != 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0)
        throw Error(ErrorKind::BAD_INPUT, path + ": unsupported head_dim " + std::to_string(hp.head_dim) +
                                              " / rope dimension " + std::to_string(hp.n_rot));
    if (!std::isfinite(hp.rms_eps) || hp.rms_eps <= 0 || !std::isfinite(hp.rope_freq_base) || hp.rope_freq_base <= 0)
        throw Error(ErrorKind::BAD_INPUT, path + ": invalid rms epsilon or rope frequency base");

    TensorLookup t(file);
    const TensorRef* embd = file.find_tensor("token_embd.weight");
    if (!embd) throw Error(ErrorKind::BAD_INPUT, path + ": missing tensor 'token_embd.weight'");
    hp.n_vocab = embd->ne[1];
    const int64_t E = hp.n_embd, Q = hp.n_head * hp.head_dim, KV = hp.n_head_kv * hp.head_dim, F = hp.n_ff;
    d.tok_embd = t.get("token_embd.weight", {E, hp.n_vocab});
    d.output_norm = t.get("output_norm.weight", {E});
    d.output = t.get("output.weight", {E, hp.n_vocab}, /*optional=*/true);
    if (!d.output) {
        d.output = d.tok_embd;
        d.tied_embeddings = true;
    }
    d.layers.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t i = 0; i < hp.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        LayerWeights& l = d.layers[static_cast<size_t>(i)];
        l.attn_norm = t.get(p + "attn_norm.weight", {E});
        l.wq = t.get(p + "attn_q.weight", {E, Q});
        l.wk = t.get(p + "attn_k.weight", {E, KV});
        l.wv = t.get(p + "attn_v.weight", {E, KV});
        const bool opt_bias = !opts.require_qkv_bias;
        l.bq = t.get(p + "attn_q.bias", {Q}, opt_bias);
        l.bk = t.get(p + "attn_k.bias", {KV}, opt_bias);
        l.bv = t.get(p + "attn_v.bias", {KV}, opt_bias);
        l.wo = t.get(p + "attn_output.weight", {Q, E});
        l.ffn_norm = t.get(p + "ffn_norm.weight", {E});
        l.w_gate = t.get(p + "ffn_gate.weight", {E, F});
        l.w_up = t.get(p + "ffn_up.weight", {E, F});
        l.w_down = t.get(p + "ffn_down.weight", {F, E});
    }
    // Norms and biases are used as f32 vectors by every backend.
    auto require_f32 = [&](const TensorRef* r) {
        if (r && r->dtype != APH_DTYPE_F32)
            throw Error(ErrorKind::BAD_INPUT, path + ": tensor '" + r->name + "' must be f32 (norm/bias)");
    };
    require_f32(d.output_norm);
    for (auto& l : d.layers) {
        require_f32(l.attn_norm), require_f32(l.ffn_norm);
        require_f32(l.bq), require_f32(l.bk), require_f32(l.bv);
    }
    return d;
}

}  // namespace detail
}  // namespace aprhost::core
