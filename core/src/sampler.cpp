// Token sampling chain. Vocabularies reach 152k entries, so nothing here sorts the whole row: top-k uses
// nth_element, min-p is a linear filter, and top-p sorts only as many of the best candidates as it needs.
#include <aprhost/core/error.hpp>
#include <aprhost/core/sampler.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace aprhost::core {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// NaN would break the strict weak ordering the selection algorithms rely on; a NaN logit is "never pick".
inline float sanitize(float x) { return std::isnan(x) ? kNegInf : x; }

// Probability buckets for top-p: a positive float's bit pattern grows with its value, so the distance of p's
// bits from 1.0f's, shifted, is a log-spaced bucket index: 2^(23-17) = 64 buckets per octave (about 1 % apart),
// 30 octaves; anything below 2^-30 of the best shares the last bucket.
constexpr size_t kTopPBuckets = 64 * 30;
inline size_t top_p_bucket(float p) {  // p in [0, 1]
    const uint32_t b = (0x3F800000u - std::bit_cast<uint32_t>(p)) >> 17;
    return std::min<size_t>(b, kTopPBuckets - 1);
}

// Argmax with the lowest id winning ties (NaN never wins).
int32_t argmax(std::span<const float> logits) {
    size_t best = 0;
    float best_v = sanitize(logits[0]);
    for (size_t i = 1; i < logits.size(); ++i) {
        if (logits[i] > best_v) {  // false for NaN
            best_v = logits[i];
            best = i;
        }
    }
    return static_cast<int32_t>(best);
}

}  // namespace

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
    const auto& p = params_;
    if (std::isnan(p.temperature) || p.temperature < 0.0f)
        throw Error(ErrorKind::USAGE, fmt::format("sampler: temperature must be >= 0 (got {})", p.temperature));
    if (std::isnan(p.top_p) || p.top_p <= 0.0f)
        throw Error(ErrorKind::USAGE, fmt::format("sampler: top-p must be in (0, 1] (got {})", p.top_p));
    if (std::isnan(p.min_p) || p.min_p > 1.0f)
        throw Error(ErrorKind::USAGE, fmt::format("sampler: min-p must be in [0, 1] (got {})", p.min_p));
    if (std::isnan(p.repeat_penalty) || p.repeat_penalty <= 0.0f)
        throw Error(ErrorKind::USAGE,
                    fmt::format("sampler: repeat penalty must be > 0 (got {})", p.repeat_penalty));
    if (p.repeat_last_n < -1)
        throw Error(ErrorKind::USAGE,
                    fmt::format("sampler: repeat-last-n must be >= -1 (got {})", p.repeat_last_n));
}

void Sampler::reseed(uint64_t seed) {
    params_.seed = seed;
    rng_.seed(seed);
}

// 53 random bits → [0, 1). Done by hand rather than with std::uniform_real_distribution, whose algorithm is
// implementation-defined: the same seed must give the same tokens with any standard library.
double Sampler::uniform01() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

// llama.cpp semantics: every distinct id among the last repeat_last_n tokens has its logit divided by the
// penalty when positive and multiplied when not, once, however often it occurred.
std::span<const float> Sampler::apply_repeat_penalty(std::span<const float> logits,
                                                     std::span<const int32_t> history) {
    if (params_.repeat_penalty == 1.0f || params_.repeat_last_n == 0 || history.empty()) return logits;
    size_t window = history.size();
    if (params_.repeat_last_n > 0) window = std::min(window, static_cast<size_t>(params_.repeat_last_n));
    auto recent = history.subspan(history.size() - window);
    recent_ids_.assign(recent.begin(), recent.end());
    std::sort(recent_ids_.begin(), recent_ids_.end());
    recent_ids_.erase(std::unique(recent_ids_.begin(), recent_ids_.end()), recent_ids_.end());

    penalised_.assign(logits.begin(), logits.end());
    const float penalty = params_.repeat_penalty;
    for (int32_t id : recent_ids_) {
        if (id < 0 || static_cast<size_t>(id) >= penalised_.size()) continue;
        float& v = penalised_[static_cast<size_t>(id)];
        v = v <= 0.0f ? v * penalty : v / penalty;
    }
    return penalised_;
}

// Keeps the smallest set of best candidates whose mass reaches top_p·total, without sorting the vocabulary:
// a histogram over log-spaced probability buckets finds the one bucket where the cumulative mass crosses the
// target; only that bucket's members are sorted. Everything better is kept, everything worse dropped.
void Sampler::truncate_top_p(double total) {
    const double target = static_cast<double>(params_.top_p) * total;
    bucket_mass_.assign(kTopPBuckets, 0.0);
    for (const auto& c : candidates_) bucket_mass_[top_p_bucket(c.value)] += c.value;
    double cum = 0.0;
    size_t crossing = kTopPBuckets;
    for (size_t b = 0; b < kTopPBuckets; ++b) {
        if (cum + bucket_mass_[b] >= target) {
            crossing = b;
            break;
        }
        cum += bucket_mass_[b];
    }
    if (crossing == kTopPBuckets) return;  // rounding kept the mass just below the target: keep everything

    auto mid = std::partition(candidates_.begin(), candidates_.end(),
                              [crossing](const Candidate& c) { return top_p_bucket(c.value) < crossing; });
    auto last = std::partition(mid, candidates_.end(),
                               [crossing](const Candidate& c) { return top_p_bucket(c.value) == crossing; });
    std::sort(mid, last, better);
    for (auto it = mid; it != last; ++it) {
        cum += it->value;
        if (cum >= target) {
            candidates_.erase(it + 1, candidates_.end());
            return;
        }
    }
    candidates_.erase(last, candidates_.end());
}

// The k best by (logit desc, id asc) in one pass: candidates better than the current k-th best go into a
// buffer of 2k; when it fills, nth_element cuts it back to k and raises the bar. A later id with a value equal
// to the bar loses the tie, hence the strict comparison.
void Sampler::select_top_k(std::span<const float> row, size_t k) {
    candidates_.clear();
    candidates_.reserve(2 * k);
    bool have_bar = false;
    float bar = kNegInf;
    auto cut = [this, k] {
        std::nth_element(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k - 1),
                         candidates_.end(), better);
        candidates_.resize(k);
    };
    for (size_t i = 0; i < row.size(); ++i) {
        const float v = sanitize(row[i]);
        if (have_bar && !(v > bar)) continue;
        candidates_.push_back({static_cast<int32_t>(i), v});
        if (candidates_.size() == 2 * k) {
            cut();
            bar = candidates_[k - 1].value;
            have_bar = true;
        }
    }
    if (candidates_.size() > k) cut();
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    if (logits.empty()) throw Error(ErrorKind::USAGE, "sampler: empty logits row");
    std::span<const float> row = apply_repeat_penalty(logits, history);

    if (params_.temperature <= 0.0f) return argmax(row);

    // Candidates: the whole row, cut to the k best when top-k is on.
    const size_t n_vocab = row.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n_vocab) {
        select_top_k(row, static_cast<size_t>(params_.top_k));
    } else {
        candidates_.resize(n_vocab);
        for (size_t i = 0; i < n_vocab; ++i) candidates_[i] = {static_cast<int32_t>(i), sanitize(row[i])};
    }

    float max_logit = kNegInf;
    for (const auto& c : candidates_) max_logit = std::max(max_logit, c.value);
    if (max_logit == kNegInf) return argmax(row);  // nothing has finite mass: degrade to greedy

    // Softmax with temperature, unnormalised: the best candidate gets exactly 1.
    const float inv_t = 1.0f / params_.temperature;
    double total = 0.0;
    for (auto& c : candidates_) {
        c.value = std::exp((c.value - max_logit) * inv_t);
        total += c.value;
    }

    // min-p before top-p: both keep a prefix of the probability-sorted list (top-p's prefix is measured against
    // the mass before min-p, `total`), so their intersection does not depend on the order, and filtering first
    // leaves top-p fewer candidates to look at.
    if (params_.min_p > 0.0f) {
        const float threshold = params_.min_p;  // min_p × p_max, with p_max = 1 here
        std::erase_if(candidates_, [threshold](const Candidate& c) { return c.value < threshold; });
    }
    if (params_.top_p < 1.0f) truncate_top_p(total);

    double kept = 0.0;
    for (const auto& c : candidates_) kept += c.value;
    const double u = uniform01() * kept;
    double acc = 0.0;
    for (const auto& c : candidates_) {
        acc += c.value;
        if (u < acc) return c.id;
    }
    // Rounding left u at the very top: the last candidate with mass.
    for (auto it = candidates_.rbegin(); it != candidates_.rend(); ++it) {
        if (it->value > 0.0f) return it->id;
    }
    return candidates_.front().id;
}

}  // namespace aprhost::core
