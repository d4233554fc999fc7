// Throughput benchmark in the style of llama-bench (pp = prompt processing, tg = text generation) over a session:
// synthetic prompts of exact token counts, one batched prefill, then single-token decode steps, each timed.
#pragma once

#include <aprhost/core/sample_stats.hpp>
#include <aprhost/core/session.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <cstdint>
#include <functional>
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

// warmup untimed-for-the-record iterations, then `iterations` measured ones, each a run_bench_iteration.
// on_iteration(done, total) is called before each iteration (progress bars).
struct BenchRun {
    std::vector<BenchIteration> warmup, measured;
};
BenchRun run_bench(Session& session, const std::vector<int32_t>& prompt, uint32_t n_gen, int warmup, int iterations,
                   const std::function<void(int done, int total)>& on_iteration = {});

// The measured iterations as sample vectors and their summaries (decode ones empty when n_gen was 0).
struct BenchSamples {
    std::vector<double> prefill_tok_s, decode_tok_s, ttft_ms, prefill_ms, decode_ms;
    std::vector<double> itl_ms;                  // every decode step of every iteration, in order
    std::vector<std::vector<double>> itl_by_run; // the same, per iteration
    SampleSummary s_prefill_tok_s, s_decode_tok_s, s_ttft_ms, s_itl_ms;
};
BenchSamples bench_samples(const std::vector<BenchIteration>& runs, bool with_decode);

// Decode cost against context length (the O(n) check, F-PERF-001): for each context c, resets sequence 0, fills
// the cache with c deterministic token ids in one batched prefill, then times `steps` greedy single-token decode
// steps. The session needs n_ctx >= max(contexts) + steps.
struct ContextCost {
    std::vector<int> contexts;
    std::vector<double> step_ms;                  // median decode step time per context
    std::vector<std::vector<double>> samples_ms;  // every timed step per context
    double ratio = 0;                             // step_ms.back() / step_ms.front() (0 when the first is 0)
};
ContextCost measure_context_cost(Session& session, const std::vector<int>& contexts, int steps);

}  // namespace aprhost::core
