// A generation session over one model: owns the KV cache and the step buffers, and runs forward passes —
// batched prefill (one step graph per chunk of up to n_batch tokens) and single-token decode.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/kv_cache.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/step_graph.hpp>
#include <aprhost/core/step_profile.hpp>
#include <aprhost/core/transformer_graph.hpp>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace aprhost::core {

struct SessionOptions {
    uint32_t n_ctx = 4096;    // tokens the KV cache holds (capped at the model's training context)
    uint32_t n_batch = 512;   // prefill chunk: tokens per step graph
    uint32_t n_seq = 1;       // independent sequences the cache holds (ids 0 .. n_seq-1)
    aph_dtype kv_dtype = APH_DTYPE_F32;
    std::map<std::string, std::string> kv_options;
};

// One sequence's tokens in a batched forward.
struct SeqInput {
    uint32_t seq = 0;
    std::span<const int32_t> tokens;
    bool all_logits = false;  // logits of every token instead of the last one only
};

class Session {
public:
    Session(const Model& model, std::shared_ptr<LoadedPlugin> kv_plugin, const SessionOptions& options);

    // Feeds tokens to sequence 0 (appending them) and returns the logits of the last token, or of every token
    // when all_logits ([n_tokens][n_vocab]). Prompts longer than n_batch run as several step graphs.
    // Throws core::Error(RESOURCE) when the KV cache is full, (BAD_INPUT) for token ids outside the vocabulary.
    const std::vector<float>& forward(std::span<const int32_t> tokens, bool all_logits = false);

    // Feeds several sequences in shared step graphs (up to n_batch tokens each): the matrix products run over all
    // their tokens at once, attention per sequence. Returns the logits of each input in order (1 row, or n rows
    // with all_logits). A sequence may appear once per call. On error no sequence advances.
    const std::vector<float>& forward_batch(std::span<const SeqInput> inputs);

    // dst (emptied first) shares src's cached prefix when the KV manager can fork; returns dst's n_past, which may
    // be less than src's (the caller feeds the remaining tokens). Returns 0 when the manager cannot fork.
    uint32_t fork(uint32_t src, uint32_t dst);

    // Forget a sequence (its cache slots are reused).
    void reset(uint32_t seq = 0);
    uint32_t n_past(uint32_t seq = 0) const { return n_past_.at(seq); }
    uint32_t n_seq() const { return uint32_t(n_past_.size()); }
    // Prompt tokens taken from the KV manager's prefix cache instead of being computed (cumulative).
    uint64_t prefix_cached_tokens() const { return prefix_cached_; }
    const Model& model() const { return model_; }
    const KvCache& kv() const { return *kv_; }
    const SessionOptions& options() const { return options_; }

    // Profiling mode: every step runs through the backend's graph_profile (throws core::Error(PLUGIN) at the next
    // forward when the backend has none) and its per-node times and cost model are appended to profiles().
    void set_profiling(bool on) { profiling_ = on; }
    bool profiling() const { return profiling_; }
    const std::vector<StepProfile>& profiles() const { return profiles_; }
    void clear_profiles() { profiles_.clear(); }

private:
    struct Piece {
        uint32_t seq;
        std::span<const int32_t> tokens;
        uint32_t n_logits;
    };
    // Runs one step graph over the pieces (distinct sequences); appends their logits to logits_.
    void run_step(std::vector<Piece> pieces);
    void ensure_buffers(const StepLayout& layout);
    void check_supported(const StepGraph& g, unsigned shape_class);

    const Model& model_;
    SessionOptions options_;
    std::unique_ptr<KvCache> kv_;
    std::shared_ptr<Buffer> inputs_, activations_;
    StepGraph graph_;
    std::vector<float> logits_;
    std::vector<int32_t> staging_;
    std::vector<uint32_t> n_past_;
    uint64_t prefix_cached_ = 0;
    unsigned checked_shapes_ = 0;
    bool profiling_ = false;
    std::vector<StepProfile> profiles_;  // bit per shape class already checked with the backend's supports()
};

}  // namespace aprhost::core
