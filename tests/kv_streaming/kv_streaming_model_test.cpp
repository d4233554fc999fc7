// The real model path with --kv streaming on a synthetic tiny model (CPU backend): logits IDENTICAL to
// kv_contiguous until the window first evicts, then a long run in bounded memory.
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/plugin_registry.hpp>
#include <aprhost/core/session.hpp>

#include <catch2/catch.hpp>

#include <cmath>
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
    core::Model model{reg, test::synth_model("qwen2", "tiny", "q4_k"), be};

    std::unique_ptr<core::Session> session(const std::string& kv, uint32_t ctx, uint32_t batch = 512,
                                           std::map<std::string, std::string> opts = {}) {
        core::SessionOptions so;
        so.n_ctx = ctx;
        so.n_batch = batch;
        so.kv_options = std::move(opts);
        return std::make_unique<core::Session>(model, reg.get(APH_PLUGIN_KV_CACHE, kv), so);
    }
    std::vector<int32_t> tokens(size_t n) const {
        std::vector<int32_t> t;
        for (size_t i = 0; i < n; ++i) t.push_back(int32_t((i * 97 + 3) % size_t(model.hparams().n_vocab)));
        return t;
    }
};

bool identical(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("streaming: logits are identical to kv_contiguous until the window first evicts",
          "[kv][streaming][model]") {
    Fixture f;
    const uint32_t ctx = 32; // sinks 4 + window 28
    const auto toks = f.tokens(40);
    auto ref = f.session("contiguous", 256);
    auto s = f.session("streaming", ctx);
    REQUIRE(s->kv().slot_count() == ctx);

    // Batched prefill of exactly a full cache: all positions identical.
    std::vector<int32_t> first(toks.begin(), toks.begin() + ctx);
    CHECK(identical(s->forward(first, true), ref->forward(first, true)));
    ref->reset();
    s->reset();

    // Token by token: identical while nothing is evicted; the first step that evicts differs.
    for (size_t i = 0; i < toks.size(); ++i) {
        INFO("position " << i);
        const auto& a = s->forward(std::span<const int32_t>(&toks[i], 1));
        const auto& b = ref->forward(std::span<const int32_t>(&toks[i], 1));
        if (i < ctx) {
            REQUIRE(identical(a, b));
            CHECK(s->kv().stats().evictions == 0);
        } else {
            for (float x : a) REQUIRE(std::isfinite(x));
            CHECK_FALSE(identical(a, b)); // a sink-less window would be a bug here too: the context differs
            CHECK(s->kv().stats().evictions == i + 1 - ctx);
        }
    }
    CHECK(s->n_past() == toks.size());
    CHECK(s->kv().stats().slots_used == ctx);
}

TEST_CASE("streaming: a long run stays in the same memory", "[kv][streaming][model]") {
    Fixture f;
    auto s = f.session("streaming", 20, 512, {{"sinks", "4"}, {"window", "16"}});
    const uint64_t bytes = s->kv().bytes();
    const auto toks = f.tokens(400);
    s->forward(std::span<const int32_t>(toks.data(), 10));
    for (size_t i = 10; i < toks.size(); ++i) {
        const auto& l = s->forward(std::span<const int32_t>(&toks[i], 1));
        REQUIRE(std::isfinite(l[0]));
        REQUIRE(std::isfinite(l[l.size() / 2]));
    }
    aph_kv_stats st = s->kv().stats();
    CHECK(st.slots_total == 20);
    CHECK(st.slots_used == 20);
    CHECK(st.evictions == toks.size() - 20);
    CHECK(s->kv().bytes() == bytes);
    CHECK(s->n_past() == toks.size()); // positions keep counting: K is stored after RoPE at its true position
}

TEST_CASE("streaming: a prompt longer than the window needs prefill chunks of at most the window",
          "[kv][streaming][model]") {
    Fixture f;
    const auto toks = f.tokens(50);
    auto s = f.session("streaming", 32); // window 28
    try {
        s->forward(toks);
        FAIL("expected the append to be refused");
    } catch (const core::Error& e) {
        CHECK(e.kind() == core::ErrorKind::RESOURCE);
        CHECK(std::string(e.what()).find("chunks of at most 28 tokens") != std::string::npos);
    }
    CHECK(s->n_past() == 0);
    CHECK(s->kv().stats().slots_used == 0);

    auto chunked = f.session("streaming", 32, 28);
    const auto& l = chunked->forward(toks);
    for (float x : l) REQUIRE(std::isfinite(x));
    CHECK(chunked->n_past() == 50);
    CHECK(chunked->kv().stats().evictions == 50 - 32);
}
