// A generation session over one model: owns the KV cache and the step buffers, and runs forward passes —
// batched prefill (one step graph per chunk of up to n_batch tokens) and single-token decode.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/kv_cache.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/step_graph.hpp>
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
    aph_dtype kv_dtype = APH_DTYPE_F32;
    std::map<std::string, std::string> kv_options;
};

class Session {
public:
    Session(const Model& model, std::shared_ptr<LoadedPlugin> kv_plugin, const SessionOptions& options);

    // Feeds tokens (appending them to the sequence) and returns the logits of the last token, or of every token
    // when all_logits ([n_tokens][n_vocab]). Prompts longer than n_batch run as several step graphs.
    // Throws core::Error(RESOURCE) when the KV cache is full, (BAD_INPUT) for token ids outside the vocabulary.
    const std::vector<float>& forward(std::span<const int32_t> tokens, bool all_logits = false);

    // Forget the sequence (the cache is reused).
    void reset();
    uint32_t n_past() const { return n_past_; }
    const Model& model() const { return model_; }
    const KvCache& kv() const { return *kv_; }
    const SessionOptions& options() const { return options_; }

private:
    // Runs one step graph over tokens; appends the logits of its last n_logits tokens (0 = none) to logits_.
    void run_chunk(std::span<const int32_t> tokens, uint32_t n_logits);
    void ensure_buffers(const StepLayout& layout);
    void check_supported(const StepGraph& g, bool batched);

    const Model& model_;
    SessionOptions options_;
    std::unique_ptr<KvCache> kv_;
    std::shared_ptr<Buffer> inputs_, activations_;
    StepGraph graph_;
    std::vector<float> logits_;
    std::vector<int32_t> staging_;
    uint32_t n_past_ = 0;
    bool checked_single_ = false, checked_batched_ = false;
};

}  // namespace aprhost::core
