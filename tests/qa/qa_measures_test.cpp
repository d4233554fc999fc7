// The core measurements qa shares with the other tools, on the synthetic tiny model and injected samples:
// the O(n) context ratio comes from real timings (profile --context, qa context_ratio), bench samples and their CV
// (bench, qa bench_cv), chat prompts (run --chat, qa golden), and perplexity separates text the model predicts
// (its own greedy continuation) from random tokens (eval, qa perplexity).
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/bench.hpp>
#include <aprhost/core/generator.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/perplexity.hpp>
#include <aprhost/core/plugin_registry.hpp>
#include <aprhost/core/sample_stats.hpp>
#include <aprhost/core/session.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace aprhost::core;

namespace {

struct Tiny {
    PluginRegistry reg{aprhost::test::build_tree_plugins()};
    std::shared_ptr<BackendContext> backend = BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {});
    Model model{reg, aprhost::test::synth_model("qwen2", "tiny", "q8_0"), backend};
    Session session(uint32_t n_ctx) {
        SessionOptions so;
        so.n_ctx = n_ctx;
        return Session(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    }
};

int32_t argmax(const std::vector<float>& v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

TEST_CASE("context cost: the ratio is the last context's median step over the first's, from timed steps", "[qa]") {
    Tiny t;
    Session s = t.session(64);
    const auto c = measure_context_cost(s, {10, 40}, 3);
    REQUIRE(c.contexts == std::vector<int>{10, 40});
    REQUIRE(c.samples_ms.size() == 2);
    REQUIRE(c.step_ms.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
        REQUIRE(c.samples_ms[i].size() == 3);
        for (double ms : c.samples_ms[i]) CHECK(ms > 0);  // measured, not derived: every step took time
        CHECK(c.step_ms[i] == percentile(c.samples_ms[i], 50));
    }
    CHECK(c.ratio == Approx(c.step_ms[1] / c.step_ms[0]).epsilon(1e-12));
    // The cache really held each context: the session ends after the last one's decode steps.
    CHECK(s.n_past() == 40 + 3);
}

TEST_CASE("bench samples: per-iteration vectors and the CV of injected throughputs", "[qa]") {
    std::vector<BenchIteration> runs(4);
    const double tg[] = {100, 110, 90, 100}, pp[] = {500, 500, 500, 500};
    for (size_t i = 0; i < runs.size(); ++i) {
        runs[i].decode_tok_s = tg[i];
        runs[i].prefill_tok_s = pp[i];
        runs[i].itl_ms = {double(i), double(i) + 0.5};
    }
    const auto b = bench_samples(runs, true);
    CHECK(b.decode_tok_s == std::vector<double>{100, 110, 90, 100});
    // Sample standard deviation sqrt((0 + 100 + 100 + 0) / 3) over the mean 100.
    CHECK(b.s_decode_tok_s.cv_pct == Approx(100.0 * std::sqrt(200.0 / 3.0) / 100.0));
    CHECK(b.s_decode_tok_s.median == Approx(100.0));
    CHECK(b.s_prefill_tok_s.cv_pct == 0.0);
    CHECK(b.itl_ms == std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5});
    CHECK(b.itl_by_run.size() == 4);
    const auto no_decode = bench_samples(runs, false);
    CHECK(no_decode.decode_tok_s.empty());
    CHECK(no_decode.s_decode_tok_s.n == 0);
}

TEST_CASE("run_bench keeps warm-up iterations apart from measured ones", "[qa]") {
    Tiny t;
    Session s = t.session(32);
    const auto prompt = synthetic_prompt(t.model.tokenizer(), 8, 42);
    int calls = 0;
    const auto r = run_bench(s, prompt, 4, 2, 3, [&](int done, int total) {
        CHECK(done == calls++);
        CHECK(total == 5);
    });
    CHECK(calls == 5);
    CHECK(r.warmup.size() == 2);
    REQUIRE(r.measured.size() == 3);
    for (auto& it : r.measured) CHECK(it.itl_ms.size() == 4);
}

TEST_CASE("chat prompt: the template's system message, the user turn and the assistant header", "[qa]") {
    Tiny t;
    const auto& tok = t.model.tokenizer();
    const auto& tmpl = t.model.chat_template();
    const std::string text = tok.decode(encode_chat_prompt(tok, tmpl, "What is 2+2?"), /*render_special=*/true);
    CHECK(text.find("<|im_start|>user\nWhat is 2+2?<|im_end|>") != std::string::npos);
    const std::string header = "<|im_start|>assistant\n";
    REQUIRE(text.size() > header.size());
    CHECK(text.substr(text.size() - header.size()) == header);
    const std::string with_sys = tok.decode(encode_chat_prompt(tok, tmpl, "Hi", "Be brief."), true);
    CHECK(with_sys.rfind("<|im_start|>system\nBe brief.<|im_end|>", 0) == 0);
    // Special tokens are parsed: the markers are single ids, not spelled out byte by byte.
    const auto ids = encode_chat_prompt(tok, tmpl, "Hi", "Be brief.");
    CHECK(std::count(ids.begin(), ids.end(), tok.token_id("<|im_start|>")) == 3);
}

TEST_CASE("perplexity: the model's own greedy text scores far better than random tokens", "[qa][ppl]") {
    Tiny t;
    Session s = t.session(128);
    const auto& tok = t.model.tokenizer();
    // The text this model was built to predict: what it predicts itself, token after token.
    std::vector<int32_t> own = synthetic_prompt(tok, 4, 3);
    int32_t next = argmax(s.forward(own));
    while (own.size() < 96) {
        own.push_back(next);
        next = argmax(s.forward(std::span<const int32_t>(&own.back(), 1)));
    }
    const auto random = synthetic_prompt(tok, own.size(), 11);
    const auto a = evaluate_perplexity(s, own, 128, 64);
    const auto b = evaluate_perplexity(s, random, 128, 64);
    REQUIRE(a.finite);
    REQUIRE(b.finite);
    INFO("own greedy text " << a.ppl << ", random tokens " << b.ppl << ", vocabulary " << t.model.hparams().n_vocab);
    CHECK(a.ppl < b.ppl);
    CHECK(a.ppl_ci95_high < b.ppl_ci95_low);  // not a coin flip: the intervals are apart
    // Random tokens through a near-uniform random model: about the vocabulary size, far from 1.
    CHECK(b.ppl > 0.1 * double(t.model.hparams().n_vocab));
}
