#include <aprhost/core/error.hpp>
#include <aprhost/core/session.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace aprhost::core {

Session::Session(const Model& model, std::shared_ptr<LoadedPlugin> kv_plugin, const SessionOptions& options)
    : model_(model), options_(options) {
    const HyperParams& hp = model.hparams();
    if (options_.n_ctx == 0) throw Error(ErrorKind::USAGE, "context size must be at least 1");
    if (options_.n_batch == 0) throw Error(ErrorKind::USAGE, "batch size must be at least 1");
    if (options_.n_seq == 0) throw Error(ErrorKind::USAGE, "the session needs at least one sequence");
    // Each sequence may hold up to the training context.
    if (hp.n_ctx_train > 0)
        options_.n_ctx = uint32_t(std::min<uint64_t>(options_.n_ctx, uint64_t(hp.n_ctx_train) * options_.n_seq));
    aph_kv_config cfg{};
    cfg.struct_size = sizeof(cfg);
    cfg.n_layers = uint32_t(hp.n_layer);
    cfg.n_kv_heads = uint32_t(hp.n_head_kv);
    cfg.head_dim = uint32_t(hp.head_dim);
    cfg.dtype = options_.kv_dtype;
    cfg.capacity = options_.n_ctx;
    cfg.block_size = 0;
    cfg.max_sequences = options_.n_seq;
    n_past_.assign(options_.n_seq, 0);
    kv_ = std::make_unique<KvCache>(std::move(kv_plugin), model.backend_ptr(), cfg, options_.kv_options);
}

void Session::reset(uint32_t seq) {
    if (seq >= n_past_.size()) throw Error(ErrorKind::USAGE, "no sequence " + std::to_string(seq));
    kv_->free(seq);
    n_past_[seq] = 0;
}

uint32_t Session::fork(uint32_t src, uint32_t dst) {
    if (src >= n_past_.size() || dst >= n_past_.size() || src == dst)
        throw Error(ErrorKind::USAGE, "cannot fork sequence " + std::to_string(src) + " into " + std::to_string(dst));
    reset(dst);
    if (!kv_->can_fork()) return 0;
    n_past_[dst] = kv_->fork(src, dst);
    return n_past_[dst];
}

const std::vector<float>& Session::forward(std::span<const int32_t> tokens, bool all_logits) {
    SeqInput in{0, tokens, all_logits};
    return forward_batch(std::span<const SeqInput>(&in, 1));
}

const std::vector<float>& Session::forward_batch(std::span<const SeqInput> inputs) {
    const int32_t vocab = int32_t(model_.hparams().n_vocab);
    std::vector<bool> seen(n_past_.size(), false);
    for (auto& in : inputs) {
        if (in.seq >= n_past_.size())
            throw Error(ErrorKind::USAGE, "sequence " + std::to_string(in.seq) + " is outside the session's " +
                                              std::to_string(n_past_.size()) + " sequences");
        if (seen[in.seq]) throw Error(ErrorKind::USAGE, "sequence " + std::to_string(in.seq) + " given twice");
        seen[in.seq] = true;
        if (in.tokens.empty()) throw Error(ErrorKind::USAGE, "forward needs at least one token per sequence");
        for (auto t : in.tokens)
            if (t < 0 || t >= vocab)
                throw Error(ErrorKind::BAD_INPUT, "token id " + std::to_string(t) +
                                                      " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
    logits_.clear();
    // Pack the inputs into steps of at most n_batch tokens; an input longer than the room left is split across
    // steps (its intermediate pieces only fill the cache unless all_logits).
    std::vector<Piece> step;
    uint32_t room = options_.n_batch;
    for (auto& in : inputs) {
        size_t done = 0;
        while (done < in.tokens.size()) {
            if (room == 0) {
                run_step(step);
                step.clear();
                room = options_.n_batch;
            }
            size_t len = std::min<size_t>(room, in.tokens.size() - done);
            bool last = done + len == in.tokens.size();
            uint32_t nl = in.all_logits ? uint32_t(len) : (last ? 1u : 0u);
            step.push_back({in.seq, in.tokens.subspan(done, len), nl});
            // A sequence appears once per step: its next piece goes to the next step.
            room = last ? room - uint32_t(len) : 0;
            done += len;
        }
    }
    if (!step.empty()) run_step(step);
    return logits_;
}

void Session::ensure_buffers(const StepLayout& layout) {
    BackendContext& be = model_.backend();
    if (!inputs_ || inputs_->size() < layout.inputs_bytes)
        inputs_ = be.alloc(std::max<uint64_t>(layout.inputs_bytes, 4096), "step inputs");
    if (!activations_ || activations_->size() < layout.activations_bytes)
        activations_ = be.alloc(layout.activations_bytes, "activations");
}

void Session::check_supported(const StepGraph& g, unsigned shape_class) {
    // Ops and dtypes do not change between steps, only the shape class (decode / batch, one / several sequences).
    if (checked_shapes_ & (1u << shape_class)) return;
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
    checked_shapes_ |= 1u << shape_class;
}

void Session::run_step(std::vector<Piece> pieces) {
    const auto step_t0 = std::chrono::steady_clock::now();
    // Reserve slots for every piece; roll all of them back if one does not fit.
    std::vector<std::vector<int32_t>> slots;
    std::vector<BlockTable> tables;
    std::vector<uint32_t> past_before;
    for (auto& p : pieces) past_before.push_back(n_past_[p.seq]);
    auto roll_back = [&] {
        for (size_t i = 0; i < slots.size(); ++i) {
            if (kv_->plugin().kv().seq_truncate) kv_->truncate(pieces[i].seq, past_before[i]);
            n_past_[pieces[i].seq] = past_before[i];
        }
    };
    try {
        for (auto& p : pieces) {
            // The start of a sequence may come from the manager's prefix cache: only the rest is computed (not
            // when every token's logits are wanted).
            if (n_past_[p.seq] == 0 && p.n_logits <= 1 && kv_->can_prefix_cache()) {
                uint32_t cached = 0;
                slots.push_back(kv_->append_tokens(p.seq, p.tokens, cached));
                p.tokens = p.tokens.subspan(cached);
                n_past_[p.seq] = cached;
                prefix_cached_ += cached;
                continue;
            }
            slots.push_back(kv_->append(p.seq, uint32_t(p.tokens.size())));
        }
        for (auto& p : pieces) tables.push_back(kv_->block_table(p.seq));
    } catch (...) {
        roll_back();
        throw;
    }
    std::vector<StepPiece> sp;
    uint32_t n = 0, n_blocks = 0, n_logits = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
        StepPiece s;
        s.col0 = n;
        s.n = uint32_t(pieces[i].tokens.size());
        s.block0 = n_blocks;
        s.n_blocks = uint32_t(tables[i].blocks.size());
        s.n_kv = tables[i].n_kv;
        s.block_size = tables[i].block_size;
        s.n_logits = pieces[i].n_logits;
        n += s.n, n_blocks += s.n_blocks, n_logits += s.n_logits;
        sp.push_back(s);
    }
    StepLayout layout = StepLayout::compute(model_.hparams(), n, n_logits, n_blocks);
    ensure_buffers(layout);

    // One upload of all i32 inputs.
    staging_.assign(layout.inputs_bytes / 4, 0);
    uint32_t row = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
        const StepPiece& s = sp[i];
        const uint32_t past = n_past_[pieces[i].seq];
        std::copy(pieces[i].tokens.begin(), pieces[i].tokens.end(), staging_.begin() + layout.off_ids / 4 + s.col0);
        for (uint32_t j = 0; j < s.n; ++j) staging_[layout.off_pos / 4 + s.col0 + j] = int32_t(past + j);
        std::copy(slots[i].begin(), slots[i].end(), staging_.begin() + layout.off_slots / 4 + s.col0);
        std::copy(tables[i].blocks.begin(), tables[i].blocks.end(), staging_.begin() + layout.off_blocks / 4 + s.block0);
        for (uint32_t j = s.n - s.n_logits; j < s.n; ++j) staging_[layout.off_logit_rows / 4 + row++] = int32_t(s.col0 + j);
    }
    inputs_->upload(0, staging_.data(), layout.inputs_bytes);

    const size_t V = size_t(model_.hparams().n_vocab);
    try {
        graph_.clear();
        StepBuffers bufs{inputs_->handle(), activations_->handle()};
        build_transformer_step(graph_, model_, *kv_, layout, bufs, sp);
        check_supported(graph_, (n > 1 ? 1u : 0u) | (pieces.size() > 1 ? 2u : 0u));
        if (profiling_) {
            const auto t0 = std::chrono::steady_clock::now();
            std::vector<uint64_t> ns = model_.backend().compute_profiled(graph_.view());
            const auto t1 = std::chrono::steady_clock::now();
            StepProfile prof = describe_step(graph_.view(), ns, inputs_->handle(), activations_->handle());
            prof.n_tokens = n;
            prof.graph_ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
            prof.step_ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - step_t0).count());
            profiles_.push_back(std::move(prof));
        } else {
            model_.backend().compute(graph_.view());
        }
        if (n_logits > 0) {
            size_t old = logits_.size();
            logits_.resize(old + size_t(n_logits) * V);
            activations_->download(layout.off_logits, logits_.data() + old, uint64_t(n_logits) * V * 4);
        } else {
            model_.backend().synchronize();  // asynchronous backends: the cache must be written before the next step
        }
    } catch (...) {
        // Roll the cache back so a failed step leaves every sequence as it was.
        roll_back();
        throw;
    }
    for (auto& p : pieces) n_past_[p.seq] += uint32_t(p.tokens.size());
    if (profiling_ && !profiles_.empty())
        profiles_.back().step_ns = uint64_t(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - step_t0).count());
}

}  // namespace aprhost::core
