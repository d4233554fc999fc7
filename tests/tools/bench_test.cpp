// Synthetic prompts (exact counts, deterministic, text tokens only) and one benchmark iteration on the tiny model.
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/bench.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include <catch2/catch.hpp>

using namespace aprhost::core;

TEST_CASE("synthetic prompts and a benchmark iteration", "[bench]") {
    PluginRegistry reg(aprhost::test::build_tree_plugins());
    auto backend = BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {});
    Model model(reg, aprhost::test::synth_model("llama", "tiny", "q8_0"), backend);
    const auto& tok = model.tokenizer();

    auto p = synthetic_prompt(tok, 100, 42);
    REQUIRE(p.size() == 100);
    CHECK(synthetic_prompt(tok, 100, 42) == p);  // same seed, same ids
    CHECK(synthetic_prompt(tok, 100, 43) != p);
    size_t start = 0;
    if (tok.add_bos_default() && tok.bos_id() >= 0) {
        CHECK(p[0] == tok.bos_id());
        start = 1;
    }
    for (size_t i = start; i < p.size(); ++i) {
        CHECK(p[i] >= 0);
        CHECK(p[i] < tok.vocab_size());
        CHECK_FALSE(tok.is_end_of_generation(p[i]));
        CHECK_FALSE(tok.token_to_piece(p[i]).empty());
    }
    CHECK(synthetic_prompt(tok, 1, 1).size() == 1);

    SessionOptions so;
    so.n_ctx = 100 + 6 + 1;
    Session session(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    for (int rep = 0; rep < 2; ++rep) {  // the second run must start from an empty cache (reset), not overflow it
        auto it = run_bench_iteration(session, p, 6);
        CHECK(session.n_past() == 106);
        REQUIRE(it.itl_ms.size() == 6);
        CHECK(it.prefill_ms > 0);
        CHECK(it.ttft_ms >= it.prefill_ms);
        CHECK(it.prefill_tok_s > 0);
        CHECK(it.decode_tok_s > 0);
        double sum = 0;
        for (double v : it.itl_ms) {
            CHECK(v > 0);
            sum += v;
        }
        CHECK(it.decode_ms == Approx(sum));
    }
}
