// The real model path with --kv paged: a synthetic tiny model on the CPU backend gives logits IDENTICAL (bit for
// bit) to kv_contiguous, for batched prefill, chunked prefill and token-by-token decode, with block tables that
// run forwards and backwards through the cache.
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/plugin_registry.hpp>
#include <aprhost/core/session.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace aprhost;

namespace {

struct Fixture {
    core::PluginRegistry reg{test::build_tree_plugins()};
    std::shared_ptr<core::BackendContext> be =
        core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {{"threads", "2"}});
    core::Model model;

    explicit Fixture(const std::string& arch = "qwen2", const std::string& quant = "q4_k")
        : model(reg, test::synth_model(arch, "tiny", quant), be) {}

    std::unique_ptr<core::Session> session(const std::string& kv, uint32_t ctx, uint32_t batch,
                                           std::map<std::string, std::string> opts = {}) {
        core::SessionOptions so;
        so.n_ctx = ctx;
        so.n_batch = batch;
        so.kv_options = std::move(opts);
        return std::make_unique<core::Session>(model, reg.get(APH_PLUGIN_KV_CACHE, kv), so);
    }
};

std::vector<int32_t> test_tokens(size_t n, int32_t vocab) {
    std::vector<int32_t> t;
    for (size_t i = 0; i < n; ++i) t.push_back(int32_t((i * 131 + 17) % size_t(vocab)));
    return t;
}

// Bit-identical, not merely close: the same kv entries reach attention in the same order.
bool identical(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("paged: the model's logits are identical to kv_contiguous", "[kv][paged][model]") {
    auto [arch, quant] = GENERATE(table<std::string, std::string>({{"qwen2", "q4_k"}, {"llama", "q8_0"}}));
    Fixture f(arch, quant);
    const auto tokens = test_tokens(70, int32_t(f.model.hparams().n_vocab));
    const uint32_t batch = GENERATE(512u, 7u);

    // Reference: contiguous, batched prefill over all positions, then the same tokens decoded one by one.
    auto ref = f.session("contiguous", 256, batch);
    const std::vector<float> ref_all = ref->forward(tokens, true);
    ref->reset();
    std::vector<std::vector<float>> ref_steps;
    for (int32_t t : tokens) ref_steps.push_back(ref->forward(std::span<const int32_t>(&t, 1)));

    const std::vector<std::map<std::string, std::string>> layouts = {
        {}, // 16-token blocks, ascending
        {{"block_size", "4"}, {"alloc_order", "descending"}},
        {{"block_size", "1"}, {"alloc_order", "descending"}},
        {{"block_size", "5"}},
    };
    for (const auto& opts : layouts) {
        std::string desc;
        for (auto& [k, v] : opts) desc += k + "=" + v + " ";
        INFO(arch << " " << quant << " batch " << batch << " paged " << desc);
        auto s = f.session("paged", 256, batch, opts);
        CHECK(identical(s->forward(tokens, true), ref_all));
        s->reset();
        CHECK(s->kv().stats().blocks_used == 0);
        for (size_t i = 0; i < tokens.size(); ++i) {
            INFO("position " << i);
            REQUIRE(identical(s->forward(std::span<const int32_t>(&tokens[i], 1)), ref_steps[i]));
        }
        CHECK(s->kv().stats().slots_used == tokens.size());
    }
}

TEST_CASE("paged: a full cache in the model path is a RESOURCE error and the session stays usable",
          "[kv][paged][model]") {
    Fixture f;
    auto s = f.session("paged", 32, 512); // 2 blocks of 16
    const auto tokens = test_tokens(30, int32_t(f.model.hparams().n_vocab));
    s->forward(tokens);
    std::vector<int32_t> more = {1, 2, 3};
    try {
        s->forward(more);
        FAIL("expected the cache to be exhausted");
    } catch (const core::Error& e) {
        CHECK(e.kind() == core::ErrorKind::RESOURCE);
        CHECK(std::string(e.what()).rfind("KV cache exhausted (2 blocks of 16 tokens)", 0) == 0);
    }
    CHECK(s->n_past() == 30);
    CHECK(s->kv().stats().slots_used == 30);
    std::vector<int32_t> two = {1, 2};
    CHECK_NOTHROW(s->forward(two));
    CHECK(s->n_past() == 32);
}
