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

}  // namespace aprhost::core
