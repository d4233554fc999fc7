// Perplexity over a token sequence with the standard sliding-window method: windows of ctx tokens advancing by
// stride; each window scores only the tokens that no earlier window scored (the first window: all but its first
// token, which has no context), so every scored token sees up to ctx - stride tokens of context after the first
// window. Log-softmax in double; the confidence interval comes from the standard error of the per-token NLL.
#pragma once

#include <aprhost/core/session.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace aprhost::core {

struct PplWindow {
    size_t begin = 0, end = 0;  // tokens [begin, end) are fed
    size_t score_from = 0;      // positions [score_from, end) are scored (each predicted from the ones before)
};

// The windows for n tokens. Throws core::Error(USAGE) when ctx < 2, stride == 0 or stride > ctx.
std::vector<PplWindow> plan_windows(size_t n_tokens, uint32_t ctx, uint32_t stride);

// -log softmax(logits)[target], computed in double.
double token_nll(std::span<const float> logits, int32_t target);

struct PerplexityResult {
    size_t tokens_total = 0;   // tokens of the text
    size_t tokens_scored = 0;  // NLL terms
    size_t windows = 0;
    size_t non_finite = 0;     // scored tokens whose NLL was NaN/inf (these make the result non-finite)
    double mean_nll = 0;       // nats per token
    double nll_stderr = 0;     // standard error of mean_nll: sd / sqrt(n)
    double ppl = 0;            // exp(mean_nll)
    double ppl_ci95_low = 0, ppl_ci95_high = 0;  // delta method: ppl ± 1.96 · ppl · nll_stderr
    bool finite = false;       // every term and the PPL finite
};

// Summary of per-token NLL terms (exposed for tests).
PerplexityResult summarize_nll(const std::vector<double>& nll);

// The bytes of a dataset file (raw text). Throws core::Error(BAD_INPUT) naming the file when it cannot be read.
std::string read_dataset(const std::string& path);

// Runs the windows on sequence 0 of the session (reset before each window; the session needs n_ctx >= ctx).
// on_window(done, total) is called after each window. nll_out (optional) receives every scored term in order.
PerplexityResult evaluate_perplexity(Session& session, const std::vector<int32_t>& tokens, uint32_t ctx,
                                     uint32_t stride, const std::function<void(size_t, size_t)>& on_window = {},
                                     std::vector<double>* nll_out = nullptr);

}  // namespace aprhost::core
