#include <aprhost/core/bench.hpp>
#include <aprhost/core/error.hpp>

#include <algorithm>
#include <chrono>

namespace aprhost::core {

namespace {

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int32_t argmax(const std::vector<float>& v) {
    return int32_t(std::max_element(v.begin(), v.end()) - v.begin());
}

using clock_type = std::chrono::steady_clock;
double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

std::vector<int32_t> synthetic_prompt(const Tokenizer& tokenizer, size_t n, uint64_t seed) {
    std::vector<int32_t> candidates;
    for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
        if (id == tokenizer.bos_id() || id == tokenizer.eos_id() || tokenizer.is_end_of_generation(id)) continue;
        if (tokenizer.token_to_piece(id, false).empty()) continue;  // control tokens render as ""
        candidates.push_back(id);
    }
    if (candidates.empty()) throw Error(ErrorKind::BAD_INPUT, "the vocabulary has no text tokens");
    std::vector<int32_t> out;
    out.reserve(n);
    if (n > 0 && tokenizer.add_bos_default() && tokenizer.bos_id() >= 0) out.push_back(tokenizer.bos_id());
    uint64_t state = seed;
    while (out.size() < n) out.push_back(candidates[splitmix64(state) % candidates.size()]);
    return out;
}

BenchIteration run_bench_iteration(Session& session, const std::vector<int32_t>& prompt, uint32_t n_gen) {
    if (prompt.empty()) throw Error(ErrorKind::USAGE, "the benchmark prompt is empty");
    BenchIteration it;
    session.reset(0);
    const auto t0 = clock_type::now();
    const std::vector<float>* logits = &session.forward(prompt, false);
    const auto t1 = clock_type::now();
    int32_t tok = argmax(*logits);
    auto t_prev = clock_type::now();
    it.prefill_ms = ms_between(t0, t1);
    it.ttft_ms = ms_between(t0, t_prev);
    it.prefill_tok_s = it.prefill_ms > 0 ? double(prompt.size()) / (it.prefill_ms / 1000.0) : 0;
    it.itl_ms.reserve(n_gen);
    for (uint32_t i = 0; i < n_gen; ++i) {
        logits = &session.forward(std::span<const int32_t>(&tok, 1), false);
        tok = argmax(*logits);
        const auto t = clock_type::now();
        it.itl_ms.push_back(ms_between(t_prev, t));
        t_prev = t;
    }
    for (double v : it.itl_ms) it.decode_ms += v;
    it.decode_tok_s = it.decode_ms > 0 ? double(n_gen) / (it.decode_ms / 1000.0) : 0;
    return it;
}

BenchRun run_bench(Session& session, const std::vector<int32_t>& prompt, uint32_t n_gen, int warmup, int iterations,
                   const std::function<void(int, int)>& on_iteration) {
    BenchRun r;
    const int total = warmup + iterations;
    for (int i = 0; i < total; ++i) {
        if (on_iteration) on_iteration(i, total);
        auto it = run_bench_iteration(session, prompt, n_gen);
        (i < warmup ? r.warmup : r.measured).push_back(std::move(it));
    }
    return r;
}

BenchSamples bench_samples(const std::vector<BenchIteration>& runs, bool with_decode) {
    BenchSamples b;
    for (auto& r : runs) {
        b.prefill_tok_s.push_back(r.prefill_tok_s);
        b.ttft_ms.push_back(r.ttft_ms);
        b.prefill_ms.push_back(r.prefill_ms);
        if (with_decode) b.decode_tok_s.push_back(r.decode_tok_s), b.decode_ms.push_back(r.decode_ms);
        b.itl_ms.insert(b.itl_ms.end(), r.itl_ms.begin(), r.itl_ms.end());
        b.itl_by_run.push_back(r.itl_ms);
    }
    b.s_prefill_tok_s = summarize(b.prefill_tok_s);
    b.s_decode_tok_s = summarize(b.decode_tok_s);
    b.s_ttft_ms = summarize(b.ttft_ms);
    b.s_itl_ms = summarize(b.itl_ms);
    return b;
}

ContextCost measure_context_cost(Session& session, const std::vector<int>& contexts, int steps) {
    ContextCost c;
    c.contexts = contexts;
    const auto V = uint64_t(session.model().hparams().n_vocab);
    for (int n : contexts) {
        session.reset(0);
        std::vector<int32_t> fill(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) fill[size_t(i)] = int32_t((uint64_t(i) * 104729 + 7) % V);
        int32_t t = argmax(session.forward(fill));
        std::vector<double> ms;
        for (int i = 0; i < steps; ++i) {
            const auto t0 = clock_type::now();
            t = argmax(session.forward(std::span<const int32_t>(&t, 1)));
            ms.push_back(ms_between(t0, clock_type::now()));
        }
        c.step_ms.push_back(percentile(ms, 50));
        c.samples_ms.push_back(std::move(ms));
    }
    if (!c.step_ms.empty() && c.step_ms.front() > 0) c.ratio = c.step_ms.back() / c.step_ms.front();
    return c;
}

}  // namespace aprhost::core
