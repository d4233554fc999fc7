// The decode loop: prefill the prompt in one batched step, then sample and feed one token at a time, streaming
// complete UTF-8 text to a callback and timing every phase.
#pragma once

#include <aprhost/core/chat_template.hpp>
#include <aprhost/core/sampler.hpp>
#include <aprhost/core/session.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::core {

struct GenerationStats {
    uint32_t prompt_tokens = 0;
    uint32_t generated_tokens = 0;
    double prefill_ms = 0;      // the prompt's forward pass(es)
    double ttft_ms = 0;         // start of prefill → first sampled token available
    double decode_ms = 0;       // first token → last token (the decode steps)
    double prefill_tok_s = 0;   // prompt_tokens / prefill time
    double decode_tok_s = 0;    // (generated - 1) / decode time: tokens produced by single-token steps
    uint32_t prompt_tokens_shared = 0;  // parallel: prompt tokens taken from another sequence's cache (fork)
    std::string stop_reason;    // "eos", "length", "callback", "context"
    std::vector<double> step_ms;  // per decode step (forward + sampling)
};

struct GenerateOptions {
    uint32_t n_predict = 128;
    bool ignore_eos = false;
    bool stop_at_context_end = true;  // stop ("context") instead of failing when the cache is full
};

// The token ids of a one-turn chat: the system message (the template's default when `system` is empty; none
// when both are empty) and the user message rendered by the template with the assistant header appended. BOS is
// added only when the tokenizer wants one and the template does not write it itself; special tokens are parsed.
std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, const ChatTemplate& tmpl, const std::string& user,
                                        const std::string& system = "");

// Generates up to n_predict tokens for one sequence (0) of the session.
// on_text receives newly complete text; returning false stops generation. on_token (optional) sees each id.
GenerationStats generate(Session& session, const Tokenizer& tokenizer, Sampler& sampler,
                         const std::vector<int32_t>& prompt, const GenerateOptions& options,
                         const std::function<bool(std::string_view)>& on_text,
                         const std::function<void(int32_t)>& on_token = {});

// N independent completions of the same prompt in one batch (sequences 0..N-1, one sampler each, e.g. different
// seeds): the prompt is prefilled for every sequence, then each decode step is ONE step graph with one token per
// sequence still running. Returns per-sequence stats; `aggregate` gets the batch totals (decode_tok_s = all
// tokens produced by decode steps / decode wall time).
std::vector<GenerationStats> generate_parallel(Session& session, const Tokenizer& tokenizer,
                                               std::vector<Sampler>& samplers, const std::vector<int32_t>& prompt,
                                               const GenerateOptions& options,
                                               const std::function<void(uint32_t seq, int32_t token)>& on_token,
                                               GenerationStats& aggregate);

}  // namespace aprhost::core
