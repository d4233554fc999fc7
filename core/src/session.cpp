#include <aprhost/core/error.hpp>
#include <aprhost/core/session.hpp>

#include <algorithm>
#include <cstring>

namespace aprhost::core {

Session::Session(const Model& model, std::shared_ptr<LoadedPlugin> kv_plugin, const SessionOptions& options)
    : model_(model), options_(options) {
    const HyperParams& hp = model.hparams();
    if (options_.n_ctx == 0) throw Error(ErrorKind::USAGE, "context size must be at least 1");
    if (options_.n_batch == 0) throw Error(ErrorKind::USAGE, "batch size must be at least 1");
    if (hp.n_ctx_train > 0) options_.n_ctx = std::min<uint32_t>(options_.n_ctx, uint32_t(hp.n_ctx_train));
    aph_kv_config cfg{};
    cfg.struct_size = sizeof(cfg);
    cfg.n_layers = uint32_t(hp.n_layer);
    cfg.n_kv_heads = uint32_t(hp.n_head_kv);
    cfg.head_dim = uint32_t(hp.head_dim);
    cfg.dtype = options_.kv_dtype;
    cfg.capacity = options_.n_ctx;
    cfg.block_size = 0;
    cfg.max_sequences = 1;
    kv_ = std::make_unique<KvCache>(std::move(kv_plugin), model.backend_ptr(), cfg, options_.kv_options);
}

void Session::reset() {
    kv_->free(0);
    n_past_ = 0;
}

const std::vector<float>& Session::forward(std::span<const int32_t> tokens, bool all_logits) {
    if (tokens.empty()) throw Error(ErrorKind::USAGE, "forward() needs at least one token");
    const int32_t vocab = int32_t(model_.hparams().n_vocab);
    for (auto t : tokens)
        if (t < 0 || t >= vocab)
            throw Error(ErrorKind::BAD_INPUT, "token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                                                  std::to_string(vocab) + ")");
    logits_.clear();
    for (size_t start = 0; start < tokens.size(); start += options_.n_batch) {
        size_t len = std::min<size_t>(options_.n_batch, tokens.size() - start);
        bool last = start + len == tokens.size();
        // Intermediate chunks of a last-token-only forward only fill the cache: no output head for them.
        const uint32_t n_logits = all_logits ? uint32_t(len) : (last ? 1u : 0u);
        run_chunk(tokens.subspan(start, len), n_logits);
    }
    return logits_;
}

void Session::ensure_buffers(const StepLayout& layout) {
    BackendContext& be = model_.backend();
    if (!inputs_ || inputs_->size() < layout.inputs_bytes)
        inputs_ = be.alloc(std::max<uint64_t>(layout.inputs_bytes, 4096), "step inputs");
    if (!activations_ || activations_->size() < layout.activations_bytes)
        activations_ = be.alloc(layout.activations_bytes, "activations");
}

void Session::check_supported(const StepGraph& g, bool batched) {
    bool& done = batched ? checked_batched_ : checked_single_;
    if (done) return;
    aph_graph view = g.view();
    for (uint32_t i = 0; i < view.n_nodes; ++i) {
        std::string why = model_.backend().unsupported_reason(view, i);
        if (!why.empty()) {
            const aph_node& nd = view.nodes[i];
            const aph_tensor& w = view.tensors[size_t(nd.src[0])];
            throw Error(ErrorKind::PLUGIN, "backend '" + model_.backend().plugin().display_name() +
                                               "' cannot run node '" + (nd.name ? nd.name : "?") + "' (" +
                                               op_name(nd.op) + ", src0 dtype " + std::to_string(w.dtype) +
                                               "): " + why);
        }
    }
    done = true;
}

void Session::run_chunk(std::span<const int32_t> tokens, uint32_t n_logits) {
    const uint32_t n = uint32_t(tokens.size());
    std::vector<int32_t> slots = kv_->append(0, n);  // throws RESOURCE when full; nothing changes then
    BlockTable bt;
    try {
        bt = kv_->block_table(0);
    } catch (...) {
        kv_->truncate(0, n_past_);
        throw;
    }
    StepLayout layout = StepLayout::compute(model_.hparams(), n, n_logits, uint32_t(bt.blocks.size()));
    ensure_buffers(layout);

    // One upload of all i32 inputs.
    staging_.assign(layout.inputs_bytes / 4, 0);
    std::copy(tokens.begin(), tokens.end(), staging_.begin() + layout.off_ids / 4);
    for (uint32_t i = 0; i < n; ++i) staging_[layout.off_pos / 4 + i] = int32_t(n_past_ + i);
    std::copy(slots.begin(), slots.end(), staging_.begin() + layout.off_slots / 4);
    std::copy(bt.blocks.begin(), bt.blocks.end(), staging_.begin() + layout.off_blocks / 4);
    inputs_->upload(0, staging_.data(), layout.inputs_bytes);

    const size_t V = size_t(model_.hparams().n_vocab);
    try {
        graph_.clear();
        StepBuffers bufs{inputs_->handle(), activations_->handle()};
        build_transformer_step(graph_, model_, *kv_, layout, bufs, bt.n_kv, bt.block_size);
        check_supported(graph_, n > 1);
        model_.backend().compute(graph_.view());
        if (n_logits > 0) {
            size_t old = logits_.size();
            logits_.resize(old + size_t(n_logits) * V);
            activations_->download(layout.off_logits, logits_.data() + old, uint64_t(n_logits) * V * 4);
        } else {
            model_.backend().synchronize();  // asynchronous backends: the cache must be written before the next step
        }
    } catch (...) {
        // Roll the cache back so a failed step leaves the sequence as it was.
        if (kv_->plugin().kv().seq_truncate) kv_->truncate(0, n_past_);
        throw;
    }
    n_past_ += n;
}

}  // namespace aprhost::core
