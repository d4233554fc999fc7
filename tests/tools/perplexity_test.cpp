// The sliding-window plan (every token after the first scored exactly once), the double log-softmax, the CI,
// and perplexity end to end on a synthetic model: sliding windows equal one full window when ctx covers the text.
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/bench.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/perplexity.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using namespace aprhost::core;

namespace {
// Each position in [1, n) scored exactly once, position 0 never; every scored position has context in its window.
void check_plan(size_t n, uint32_t ctx, uint32_t stride) {
    INFO("n=" << n << " ctx=" << ctx << " stride=" << stride);
    auto w = plan_windows(n, ctx, stride);
    std::vector<int> scored(n, 0);
    for (auto& x : w) {
        CHECK(x.end - x.begin <= ctx);
        CHECK(x.score_from > x.begin);
        for (size_t p = x.score_from; p < x.end; ++p) scored[p]++;
    }
    if (n > 0) CHECK(scored[0] == 0);
    for (size_t p = 1; p < n; ++p) {
        // With stride == ctx the first token of each later window has no context: it is skipped, never doubled.
        if (stride == ctx && p % ctx == 0) CHECK(scored[p] == 0);
        else CHECK(scored[p] == 1);
    }
}
}  // namespace

TEST_CASE("window plans score every token once", "[ppl]") {
    check_plan(1000, 512, 256);
    check_plan(100, 512, 256);
    check_plan(513, 512, 256);
    check_plan(1000, 64, 64);
    check_plan(1000, 64, 1);
    check_plan(2, 2, 1);
    CHECK(plan_windows(1, 8, 4).empty());
    auto w = plan_windows(1000, 512, 256);
    REQUIRE(w.size() == 3);
    CHECK(w[0].begin == 0);
    CHECK(w[0].score_from == 1);
    CHECK(w[1].begin == 256);
    CHECK(w[1].score_from == 512);
    CHECK(w[2].begin == 512);
    CHECK(w[2].end == 1000);
    CHECK(w[2].score_from == 768);
    CHECK_THROWS_AS(plan_windows(10, 8, 9), Error);
    CHECK_THROWS_AS(plan_windows(10, 1, 1), Error);
    CHECK_THROWS_AS(plan_windows(10, 8, 0), Error);
}

TEST_CASE("token NLL is a double-precision log-softmax", "[ppl]") {
    std::vector<float> uniform(1000, 3.0f);
    CHECK(token_nll(uniform, 7) == Approx(std::log(1000.0)));
    std::vector<float> peaked = {0.0f, 100.0f, 0.0f};
    CHECK(token_nll(peaked, 1) == Approx(2 * std::exp(-100.0)).margin(1e-30));
    CHECK(token_nll(peaked, 0) == Approx(100.0));
    std::vector<float> bad = {0.0f, NAN};
    CHECK_FALSE(std::isfinite(token_nll(bad, 0)));
    CHECK_THROWS_AS(token_nll(peaked, 3), Error);
}

TEST_CASE("summary: PPL, standard error and the delta-method interval", "[ppl]") {
    auto r = summarize_nll({1.0, 2.0, 3.0, 2.0});
    CHECK(r.mean_nll == Approx(2.0));
    CHECK(r.ppl == Approx(std::exp(2.0)));
    const double se = std::sqrt(2.0 / 3.0) / 2.0;
    CHECK(r.nll_stderr == Approx(se));
    CHECK(r.ppl_ci95_low == Approx(std::exp(2.0) * (1 - 1.96 * se)));
    CHECK(r.ppl_ci95_high == Approx(std::exp(2.0) * (1 + 1.96 * se)));
    CHECK(r.finite);
    auto bad = summarize_nll({1.0, INFINITY});
    CHECK_FALSE(bad.finite);
    CHECK(bad.non_finite == 1);
}

TEST_CASE("perplexity on a synthetic model: overlapping windows vs one window", "[ppl]") {
    PluginRegistry reg(aprhost::test::build_tree_plugins());
    auto backend = BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {});
    Model model(reg, aprhost::test::synth_model("qwen2", "tiny", "q8_0"), backend);
    SessionOptions so;
    so.n_ctx = 64;
    Session session(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 50; ++i) tokens.push_back(int32_t((i * 37 + 11) % model.hparams().n_vocab));

    std::vector<double> one, slid;
    auto full = evaluate_perplexity(session, tokens, 64, 32, {}, &one);  // ctx covers the text: one window
    CHECK(full.windows == 1);
    CHECK(full.tokens_scored == 49);
    REQUIRE(full.finite);
    // A random-weight model is close to uniform: PPL near the vocabulary size, far from 1.
    CHECK(full.ppl > 1.5);
    CHECK(full.ppl_ci95_low < full.ppl);

    size_t calls = 0;
    auto sl = evaluate_perplexity(session, tokens, 16, 8, [&](size_t, size_t) { ++calls; }, &slid);
    CHECK(sl.tokens_scored == 49);
    CHECK(calls == sl.windows);
    CHECK(sl.windows == 6);
    // The first window's terms see the same context in both runs.
    for (size_t i = 0; i < 15; ++i) CHECK(slid[i] == Approx(one[i]).epsilon(1e-3));
}

TEST_CASE("SmolLM2: English text is far more predictable than random tokens", "[ppl][smollm2]") {
    auto path = aprhost::test::smollm2_path();
    if (!path) {
        WARN("SmolLM2 not present (scripts/fetch-models.sh): skipped");
        return;
    }
    PluginRegistry reg(aprhost::test::build_tree_plugins());
    auto backend = BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {});
    Model model(reg, *path, backend);
    SessionOptions so;
    so.n_ctx = 128;
    Session session(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    const auto& tok = model.tokenizer();
    std::string text =
        "The cat sat on the mat. The dog slept by the door. The sun rose over the hills and the birds began to sing. ";
    text += text;  // the second copy is nearly free to predict
    auto english = tok.encode(text, tok.add_bos_default(), false);
    auto random = synthetic_prompt(tok, english.size(), 7);
    auto a = evaluate_perplexity(session, english, 128, 64);
    auto b = evaluate_perplexity(session, random, 128, 64);
    REQUIRE(a.finite);
    REQUIRE(b.finite);
    INFO("english " << a.ppl << ", random " << b.ppl);
    CHECK(a.ppl < 20.0);
    CHECK(b.ppl > 1000.0);
    // The two intervals are far apart.
    CHECK(a.ppl_ci95_high < b.ppl_ci95_low);
}
