// Token samplers: greedy, repetition penalty, top-k, temperature, top-p, min-p and a seeded draw, chained in
// llama.cpp's common order (penalty → top-k → softmax(temperature) → top-p → min-p → draw).
// A Sampler owns its scratch buffers and RNG; it is not thread-safe (one per generation session).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace aprhost::core {

struct SamplerParams {
    float temperature = 0.8f;    // <= 0: greedy (argmax, lowest id on ties, no RNG)
    int32_t top_k = 40;          // <= 0: off
    float top_p = 0.95f;         // >= 1: off; must be > 0
    float min_p = 0.05f;         // <= 0: off; must be <= 1
    float repeat_penalty = 1.0f; // 1: off; must be > 0
    int32_t repeat_last_n = 64;  // 0: off, -1: the whole history
    uint64_t seed = 0;
};

class Sampler {
public:
    // Throws core::Error(USAGE) for out-of-range parameters (negative temperature, top_p <= 0, min_p > 1,
    // repeat_penalty <= 0, repeat_last_n < -1, NaN anywhere).
    explicit Sampler(const SamplerParams& params);

    // Picks the next token id from one row of logits (vocabulary size = logits.size()). history = prompt +
    // generated ids so far (for the repetition penalty; ids outside the vocabulary are ignored). NaN logits count
    // as -inf. Throws core::Error(USAGE) for an empty logits row.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

    // Restarts the random stream as if constructed with this seed.
    void reseed(uint64_t seed);

    const SamplerParams& params() const { return params_; }

private:
    struct Candidate {
        int32_t id;
        float value;  // logit, then (after softmax) unnormalised probability
    };

    // Ranking of candidates: higher value first, lower id on ties (what greedy does).
    static bool better(const Candidate& a, const Candidate& b) {
        return a.value > b.value || (a.value == b.value && a.id < b.id);
    }

    std::span<const float> apply_repeat_penalty(std::span<const float> logits, std::span<const int32_t> history);
    void select_top_k(std::span<const float> row, size_t k);
    void truncate_top_p(double total);
    double uniform01();

    SamplerParams params_;
    std::mt19937_64 rng_;
    std::vector<float> penalised_;        // logits after the repetition penalty (only when it is on)
    std::vector<int32_t> recent_ids_;     // unique ids of the penalty window
    std::vector<Candidate> candidates_;   // survivors of the current filter stage
    std::vector<double> bucket_mass_;     // top-p histogram
};

}  // namespace aprhost::core
