// Throughput benchmark in the style of llama-bench (pp = prompt processing, tg = text generation) over a session:
// synthetic prompts of exact token counts, one batched prefill, then single-token decode steps, each timed.
#pragma once

#include <aprhost/core/session.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <cstdint>
#include <vector>

namespace aprhost::core {

// n token ids drawn uniformly (splitmix64 from seed, reduced modulo the candidate count, so the same ids come out
// on every platform) from the tokens that stand for text: not control, not end-of-generation, non-empty piece.
// When the model adds BOS, the first id is BOS (it counts towards n), as llama-bench does.
std::vector<int32_t> synthetic_prompt(const Tokenizer& tokenizer, size_t n, uint64_t seed);

struct BenchIteration {
    double prefill_ms = 0;      // the prompt's batched forward pass(es)
    double ttft_ms = 0;         // start of prefill → first token picked (argmax of the prompt's last logits)
    double decode_ms = 0;       // sum of the decode steps
    double prefill_tok_s = 0;   // prompt tokens / prefill_ms
    double decode_tok_s = 0;    // decode steps / decode_ms
    std::vector<double> itl_ms; // per decode step: feed the previous token + pick the next (inter-token latency)
};

// Resets sequence 0, prefills `prompt`, then runs n_gen single-token decode steps with greedy picks (EOS is not
// special: the count is exact). The session needs n_ctx >= prompt.size() + n_gen.
BenchIteration run_bench_iteration(Session& session, const std::vector<int32_t>& prompt, uint32_t n_gen);

}  // namespace aprhost::core
