// Sampler chain: greedy, determinism per seed, top-k / top-p / min-p / temperature cut-offs (frequency tests over
// many draws with fixed seeds), repetition penalty, parameter validation.
#include <aprhost/core/error.hpp>
#include <aprhost/core/sampler.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

using aprhost::core::Error;
using aprhost::core::ErrorKind;
using aprhost::core::Sampler;
using aprhost::core::SamplerParams;

namespace {

SamplerParams plain(float temperature = 1.0f) {
    SamplerParams p;
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.seed = 1234;
    return p;
}

// A vocabulary of `n` where `probs[i]` sits at id `ids[i]` and everything else has negligible mass (1e-12 each).
std::vector<float> crafted(size_t n, const std::vector<int32_t>& ids, const std::vector<double>& probs) {
    std::vector<float> logits(n, static_cast<float>(std::log(1e-12)));
    for (size_t i = 0; i < ids.size(); ++i) logits[static_cast<size_t>(ids[i])] = static_cast<float>(std::log(probs[i]));
    return logits;
}

std::map<int32_t, double> frequencies(Sampler& s, const std::vector<float>& logits, int draws) {
    std::map<int32_t, int> counts;
    for (int i = 0; i < draws; ++i) counts[s.sample(logits, {})]++;
    std::map<int32_t, double> f;
    for (auto [id, c] : counts) f[id] = static_cast<double>(c) / draws;
    return f;
}

std::vector<float> random_logits(size_t n, uint32_t seed, float scale = 3.0f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

const std::vector<int32_t> kIds = {7, 3, 900, 42};           // deliberately not in probability order
const std::vector<double> kProbs = {0.5, 0.3, 0.15, 0.05};

}  // namespace

TEST_CASE("greedy picks the argmax, lowest id on ties, and ignores NaN", "[sampler]") {
    Sampler s(plain(0.0f));
    std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f, 1.5f};
    CHECK(s.sample(logits, {}) == 1);
    logits[0] = std::numeric_limits<float>::quiet_NaN();
    CHECK(s.sample(logits, {}) == 1);
    std::vector<float> all_nan(4, std::numeric_limits<float>::quiet_NaN());
    CHECK(s.sample(all_nan, {}) == 0);
    // Greedy never consumes randomness: the same answer for any seed.
    for (uint64_t seed : {0ull, 1ull, 99ull}) {
        auto p = plain(0.0f);
        p.seed = seed;
        Sampler g(p);
        auto row = random_logits(1000, 5);
        CHECK(g.sample(row, {}) == std::distance(row.begin(), std::max_element(row.begin(), row.end())));
    }
}

TEST_CASE("same seed gives the same tokens, another seed differs, reseed restarts", "[sampler]") {
    auto p = SamplerParams{};  // the defaults: top-k 40, top-p 0.95, min-p 0.05, temperature 0.8
    p.seed = 42;
    auto logits = random_logits(2048, 7, 1.0f);
    auto run = [&](Sampler& s) {
        std::vector<int32_t> out;
        for (int i = 0; i < 300; ++i) out.push_back(s.sample(logits, {}));
        return out;
    };
    Sampler a(p), b(p);
    auto ta = run(a);
    CHECK(ta == run(b));
    CHECK(std::set<int32_t>(ta.begin(), ta.end()).size() > 5);  // it really samples
    p.seed = 43;
    Sampler c(p);
    CHECK(ta != run(c));
    c.reseed(42);
    CHECK(ta == run(c));
}

TEST_CASE("top-k = 1 equals greedy", "[sampler]") {
    auto p = plain(1.5f);
    p.top_k = 1;
    Sampler s(p);
    Sampler greedy(plain(0.0f));
    for (uint32_t seed = 0; seed < 50; ++seed) {
        auto row = random_logits(500, seed);
        if (seed % 5 == 0) row[17] = row[400] = 1e6f;  // a tie: the lower id must win in both
        CHECK(s.sample(row, {}) == greedy.sample(row, {}));
    }
}

TEST_CASE("top-k keeps exactly the k best, renormalised", "[sampler]") {
    auto p = plain(1.0f);
    p.top_k = 2;
    Sampler s(p);
    auto f = frequencies(s, crafted(1000, kIds, kProbs), 20000);
    REQUIRE(f.size() == 2);
    CHECK(f[7] == Approx(0.5 / 0.8).margin(0.02));
    CHECK(f[3] == Approx(0.3 / 0.8).margin(0.02));
}

TEST_CASE("top-p keeps the smallest prefix reaching p", "[sampler]") {
    auto p = plain(1.0f);
    p.top_p = 0.7f;  // 0.5 < 0.7 <= 0.5 + 0.3: ids 7 and 3 survive
    Sampler s(p);
    auto f = frequencies(s, crafted(1000, kIds, kProbs), 20000);
    REQUIRE(f.size() == 2);
    CHECK(f[7] == Approx(0.625).margin(0.02));
    CHECK(f[3] == Approx(0.375).margin(0.02));

    p.top_p = 0.9f;  // 0.8 < 0.9 <= 0.95: three survive
    Sampler s3(p);
    auto f3 = frequencies(s3, crafted(1000, kIds, kProbs), 20000);
    REQUIRE(f3.size() == 3);
    CHECK(f3[900] == Approx(0.15 / 0.95).margin(0.02));
}

TEST_CASE("top-p over a flat distribution keeps exactly the right set", "[sampler]") {
    // 5000 ids with slowly decreasing logits in a shuffled order: top-p 0.5 keeps about 1000 of them, spread over
    // many histogram buckets, with the cut inside one of them.
    const size_t n = 5000;
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(3));
    std::vector<float> logits(n);
    for (size_t rank = 0; rank < n; ++rank) logits[static_cast<size_t>(order[rank])] = -0.001f * static_cast<float>(rank);
    // Expected set, computed the slow way.
    double total = 0;
    for (float l : logits) total += std::exp(static_cast<double>(l));
    std::set<int32_t> expected;
    double cum = 0;
    for (size_t rank = 0; rank < n; ++rank) {
        expected.insert(order[rank]);
        cum += std::exp(static_cast<double>(logits[static_cast<size_t>(order[rank])]));
        if (cum >= 0.5 * total) break;
    }
    REQUIRE(expected.size() > 300);
    auto p = plain(1.0f);
    p.top_p = 0.5f;
    Sampler s(p);
    std::set<int32_t> seen;
    for (int i = 0; i < 4000; ++i) seen.insert(s.sample(logits, {}));
    for (int32_t id : seen) REQUIRE(expected.count(id) == 1);
    CHECK(seen.size() > expected.size() / 2);  // draws spread over the kept set
}

TEST_CASE("top-p cuts inside a bucket of exact ties by id", "[sampler]") {
    std::vector<float> logits(1000, 0.5f);
    auto p = plain(1.0f);
    p.top_p = 0.5f;
    Sampler s(p);
    std::set<int32_t> seen;
    for (int i = 0; i < 5000; ++i) seen.insert(s.sample(logits, {}));
    CHECK(*seen.rbegin() == 499);  // the 500 lowest ids hold half the mass
    CHECK(seen.size() > 450);
}

TEST_CASE("top-k with many ties keeps the k best, lower ids first", "[sampler]") {
    // Integer logits in [0, 20) over 5000 ids: ties everywhere, so the k-th place is decided by id.
    std::mt19937 g(9);
    std::vector<float> logits(5000);
    for (auto& x : logits) x = static_cast<float>(g() % 20);
    const size_t k = 50;
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)]; });
    std::set<int32_t> expected(order.begin(), order.begin() + k);
    auto p = plain(1000.0f);  // nearly flat over the survivors
    p.top_k = static_cast<int32_t>(k);
    Sampler s(p);
    std::set<int32_t> seen;
    for (int i = 0; i < 3000; ++i) seen.insert(s.sample(logits, {}));
    CHECK(seen == expected);
}

TEST_CASE("min-p drops tokens below min_p times the best probability", "[sampler]") {
    auto p = plain(1.0f);
    p.min_p = 0.2f;  // threshold 0.1: 0.05 goes
    Sampler s(p);
    auto f = frequencies(s, crafted(1000, kIds, kProbs), 20000);
    REQUIRE(f.size() == 3);
    CHECK(f[7] == Approx(0.5 / 0.95).margin(0.02));
    CHECK(f[3] == Approx(0.3 / 0.95).margin(0.02));
    CHECK(f[900] == Approx(0.15 / 0.95).margin(0.02));

    p.min_p = 0.7f;  // threshold 0.35: only the best
    Sampler s1(p);
    CHECK(frequencies(s1, crafted(1000, kIds, kProbs), 500).size() == 1);
}

TEST_CASE("top-p and min-p combine as the shorter prefix", "[sampler]") {
    auto p = plain(1.0f);
    p.top_p = 0.9f;   // alone: 3 tokens
    p.min_p = 0.5f;   // alone: threshold 0.25 → 2 tokens
    Sampler s(p);
    auto f = frequencies(s, crafted(1000, kIds, kProbs), 10000);
    CHECK(f.size() == 2);
}

TEST_CASE("temperature sharpens and flattens", "[sampler]") {
    std::vector<float> logits = {1.0f, 0.0f};
    Sampler t1(plain(1.0f));
    CHECK(frequencies(t1, logits, 20000)[0] == Approx(1.0 / (1.0 + std::exp(-1.0))).margin(0.015));
    Sampler t2(plain(2.0f));
    CHECK(frequencies(t2, logits, 20000)[0] == Approx(1.0 / (1.0 + std::exp(-0.5))).margin(0.015));
    Sampler cold(plain(0.05f));
    CHECK(frequencies(cold, logits, 2000)[0] == Approx(1.0).margin(1e-9));
}

TEST_CASE("repetition penalty divides positive and multiplies negative logits of recent ids", "[sampler]") {
    auto p = plain(0.0f);
    p.repeat_penalty = 1.5f;
    p.repeat_last_n = 64;
    Sampler s(p);
    std::vector<float> pos = {2.0f, 1.9f, 0.0f};
    const std::vector<int32_t> hist0 = {0};
    CHECK(s.sample(pos, {}) == 0);
    CHECK(s.sample(pos, hist0) == 1);  // 2.0 / 1.5 < 1.9

    std::vector<float> neg = {-1.0f, -1.2f};
    CHECK(s.sample(neg, {}) == 0);
    CHECK(s.sample(neg, hist0) == 1);  // -1.0 × 1.5 < -1.2

    // Applied once per distinct id, however often it occurred: 2.0 / 1.5 = 1.33 > 1.3.
    std::vector<float> once = {2.0f, 1.3f};
    const std::vector<int32_t> many = {0, 0, 0, 0, 0};
    CHECK(s.sample(once, many) == 0);

    // Only the last repeat_last_n ids count; -1 means the whole history; ids outside the vocabulary are ignored.
    const std::vector<int32_t> old = {0, 2, 2, 99999, -5};
    p.repeat_last_n = 3;
    Sampler window(p);
    CHECK(window.sample(pos, old) == 0);
    p.repeat_last_n = -1;
    Sampler all(p);
    CHECK(all.sample(pos, old) == 1);
    p.repeat_last_n = 0;
    Sampler off(p);
    CHECK(off.sample(pos, old) == 0);
}

TEST_CASE("repetition penalty also shifts sampled frequencies", "[sampler]") {
    auto p = plain(1.0f);
    p.repeat_penalty = 2.0f;
    Sampler s(p);
    std::vector<float> logits = {1.0f, 1.0f};
    const std::vector<int32_t> hist = {0};
    std::map<int32_t, int> counts;
    for (int i = 0; i < 20000; ++i) counts[s.sample(logits, hist)]++;
    // logits become {0.5, 1.0}: p0 = 1 / (1 + e^0.5)
    CHECK(counts[0] / 20000.0 == Approx(1.0 / (1.0 + std::exp(0.5))).margin(0.015));
}

TEST_CASE("a Qwen-sized vocabulary with top-k off samples valid, reproducible ids", "[sampler]") {
    auto row = random_logits(151936, 11, 2.0f);
    auto p = plain(0.7f);
    p.top_p = 0.9f;
    p.seed = 5;
    Sampler a(p), b(p);
    for (int i = 0; i < 20; ++i) {
        int32_t t = a.sample(row, {});
        CHECK(t >= 0);
        CHECK(t < 151936);
        CHECK(t == b.sample(row, {}));
    }
}

TEST_CASE("invalid parameters are usage errors", "[sampler]") {
    auto expect_usage = [](SamplerParams p) {
        try {
            Sampler s(p);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::USAGE);
            CHECK(std::string(e.what()).find("sampler") != std::string::npos);
        }
    };
    SamplerParams p;
    p.temperature = -0.1f;
    expect_usage(p);
    p = {};
    p.temperature = std::numeric_limits<float>::quiet_NaN();
    expect_usage(p);
    p = {};
    p.top_p = 0.0f;
    expect_usage(p);
    p = {};
    p.min_p = 1.5f;
    expect_usage(p);
    p = {};
    p.repeat_penalty = 0.0f;
    expect_usage(p);
    p = {};
    p.repeat_last_n = -2;
    expect_usage(p);

    Sampler ok(SamplerParams{});
    CHECK_THROWS_AS(ok.sample({}, {}), Error);
}
