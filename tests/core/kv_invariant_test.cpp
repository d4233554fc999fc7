// The seed's KV invariant (PMAT-103) on the CPU backend: the logits of token n decoded with the cache equal
// row n of one batched forward over tokens 0..N, for every n ≤ 64, within 1e-5 max abs.
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/model.hpp>
#include <aprhost/core/plugin_registry.hpp>
#include <aprhost/core/session.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace aprhost;

namespace {


// Max abs difference between decode-with-cache logits and the rows of one batched forward.
double kv_invariant_max_diff(const std::string& path, std::vector<int32_t> tokens, int threads,
                             const std::string& backend = "cpu") {
    core::PluginRegistry reg(test::build_tree_plugins());
    auto be = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, backend), {{"threads", std::to_string(threads)}});
    core::Model model(reg, path, be);
    core::SessionOptions so;
    so.n_ctx = 256;
    core::Session session(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    const size_t V = size_t(model.hparams().n_vocab);
    for (auto& t : tokens) t %= int32_t(V);
    std::vector<float> batch = session.forward(tokens, /*all_logits=*/true);
    REQUIRE(batch.size() == tokens.size() * V);
    session.reset();
    double worst = 0;
    for (size_t n = 0; n < tokens.size(); ++n) {
        const auto& step = session.forward(std::span<const int32_t>(&tokens[n], 1), false);
        REQUIRE(step.size() == V);
        for (size_t i = 0; i < V; ++i) {
            REQUIRE(std::isfinite(step[i]));
            worst = std::max(worst, double(std::fabs(step[i] - batch[n * V + i])));
        }
    }
    return worst;
}

std::vector<int32_t> random_tokens(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& v : t) v = int32_t(rng() % 1000000);
    return t;
}

}  // namespace

TEST_CASE("KV invariant on synthetic tiny models, 64 positions", "[kv][invariant]") {
    auto [arch, quant] = GENERATE(table<std::string, std::string>(
        {{"qwen2", "q4_k"}, {"qwen2", "q8_0"}, {"llama", "q4_0"}, {"llama", "f16"}}));
    auto threads = GENERATE(1, 2);
    INFO(arch << " " << quant << " threads " << threads);
    std::string path = test::synth_model(arch, "tiny", quant);
    double diff = kv_invariant_max_diff(path, random_tokens(64, 7), threads);
    INFO("max abs diff " << diff);
    CHECK(diff <= 1e-5);
}

TEST_CASE("KV invariant on the scalar CPU variant", "[kv][invariant][scalar]") {
    std::string path = test::synth_model("llama", "tiny", "q4_k");
    double diff = kv_invariant_max_diff(path, random_tokens(64, 3), 2, "cpu-scalar");
    INFO("max abs diff " << diff);
    CHECK(diff <= 1e-5);
}

TEST_CASE("KV invariant on SmolLM2-135M, 64 positions", "[kv][invariant][smollm2]") {
    auto path = test::smollm2_path();
    if (!path) {
        WARN("SKIPPED: SmolLM2 model not found (run scripts/fetch-models.sh or set APRHOST_SMOLLM2)");
        return;
    }
    double diff = kv_invariant_max_diff(*path, random_tokens(64, 11), 2);
    INFO("max abs diff " << diff);
    CHECK(diff <= 1e-5);
}
