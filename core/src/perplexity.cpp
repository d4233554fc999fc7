#include <aprhost/core/error.hpp>
#include <aprhost/core/perplexity.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace aprhost::core {

std::vector<PplWindow> plan_windows(size_t n_tokens, uint32_t ctx, uint32_t stride) {
    if (ctx < 2) throw Error(ErrorKind::USAGE, "the perplexity window needs at least 2 tokens (--ctx)");
    if (stride == 0 || stride > ctx)
        throw Error(ErrorKind::USAGE, "the stride must be between 1 and the window size (--stride <= --ctx)");
    std::vector<PplWindow> out;
    size_t prev_end = 0;
    for (size_t begin = 0; begin < n_tokens; begin += stride) {
        size_t end = std::min(begin + ctx, n_tokens);
        // A window's first token has no context inside the window, so it is never scored there.
        size_t from = std::max(prev_end, begin + 1);
        if (from < end) out.push_back({begin, end, from});
        prev_end = end;
        if (end == n_tokens) break;
    }
    return out;
}

double token_nll(std::span<const float> logits, int32_t target) {
    if (target < 0 || size_t(target) >= logits.size())
        throw Error(ErrorKind::BAD_INPUT, "target token " + std::to_string(target) + " outside the vocabulary");
    double mx = -INFINITY;
    for (float v : logits) mx = std::max(mx, double(v));
    double sum = 0;
    for (float v : logits) sum += std::exp(double(v) - mx);
    return mx + std::log(sum) - double(logits[size_t(target)]);
}

PerplexityResult summarize_nll(const std::vector<double>& nll) {
    PerplexityResult r;
    r.tokens_scored = nll.size();
    double sum = 0;
    for (double v : nll) {
        if (!std::isfinite(v)) r.non_finite++;
        sum += v;
    }
    if (nll.empty()) return r;
    const double n = double(nll.size());
    r.mean_nll = sum / n;
    if (nll.size() > 1) {
        double ss = 0;
        for (double v : nll) ss += (v - r.mean_nll) * (v - r.mean_nll);
        r.nll_stderr = std::sqrt(ss / (n - 1)) / std::sqrt(n);
    }
    r.ppl = std::exp(r.mean_nll);
    // Delta method: d exp(m) = exp(m) dm, so se(ppl) ≈ ppl · se(mean nll).
    r.ppl_ci95_low = r.ppl - 1.96 * r.ppl * r.nll_stderr;
    r.ppl_ci95_high = r.ppl + 1.96 * r.ppl * r.nll_stderr;
    r.finite = r.non_finite == 0 && std::isfinite(r.ppl) && std::isfinite(r.nll_stderr);
    return r;
}

PerplexityResult evaluate_perplexity(Session& session, const std::vector<int32_t>& tokens, uint32_t ctx,
                                     uint32_t stride, const std::function<void(size_t, size_t)>& on_window,
                                     std::vector<double>* nll_out) {
    const auto windows = plan_windows(tokens.size(), ctx, stride);
    if (windows.empty()) throw Error(ErrorKind::BAD_INPUT, "the text has fewer than 2 tokens: nothing to score");
    std::vector<double> nll;
    const size_t V = size_t(session.model().hparams().n_vocab);
    for (size_t w = 0; w < windows.size(); ++w) {
        const auto& win = windows[w];
        session.reset(0);
        std::span<const int32_t> feed(tokens.data() + win.begin, win.end - win.begin);
        const std::vector<float>& logits = session.forward(feed, /*all_logits=*/true);
        if (logits.size() != feed.size() * V)
            throw Error(ErrorKind::PLUGIN, "the session returned " + std::to_string(logits.size()) +
                                               " logits for a window of " + std::to_string(feed.size()) + " tokens");
        for (size_t p = win.score_from; p < win.end; ++p) {
            // Row p - begin - 1 is the distribution after token p - 1, i.e. the prediction of token p.
            std::span<const float> row(logits.data() + (p - win.begin - 1) * V, V);
            nll.push_back(token_nll(row, tokens[p]));
        }
        if (on_window) on_window(w + 1, windows.size());
    }
    PerplexityResult r = summarize_nll(nll);
    r.tokens_total = tokens.size();
    r.windows = windows.size();
    if (nll_out) *nll_out = std::move(nll);
    return r;
}

std::string read_dataset(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(ErrorKind::BAD_INPUT, "cannot open the dataset '" + path + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    if (f.bad()) throw Error(ErrorKind::BAD_INPUT, "read error in the dataset '" + path + "'");
    return ss.str();
}

}  // namespace aprhost::core
