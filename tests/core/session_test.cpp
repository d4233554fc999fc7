#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/generator.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/session.hpp>

#include <catch2/catch.hpp>

using namespace aprhost;

namespace {
struct Fixture {
    core::PluginRegistry reg{test::build_tree_plugins()};
    std::shared_ptr<core::BackendContext> be =
        core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {});
    core::Model model{reg, test::synth_model("qwen2", "tiny", "q4_k"), be};
    std::unique_ptr<core::Session> session(uint32_t ctx, uint32_t batch = 512) {
        core::SessionOptions so;
        so.n_ctx = ctx;
        so.n_batch = batch;
        return std::make_unique<core::Session>(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    }
};
}  // namespace

TEST_CASE("prefill in chunks gives the same logits as one batch", "[session]") {
    Fixture f;
    std::vector<int32_t> toks;
    for (int i = 0; i < 40; ++i) toks.push_back((i * 37 + 5) % 1000);
    auto one = f.session(128, 512)->forward(toks, true);
    auto chunked = f.session(128, 7)->forward(toks, true);
    REQUIRE(one.size() == chunked.size());
    double worst = 0;
    for (size_t i = 0; i < one.size(); ++i) worst = std::max(worst, double(std::fabs(one[i] - chunked[i])));
    CHECK(worst <= 1e-5);
}

TEST_CASE("a full KV cache is a RESOURCE error and leaves the sequence usable", "[session]") {
    Fixture f;
    auto s = f.session(8);
    std::vector<int32_t> toks = {1, 2, 3, 4, 5, 6};
    s->forward(toks);
    std::vector<int32_t> more = {7, 8, 9};
    try {
        s->forward(more);
        FAIL("expected the cache to be exhausted");
    } catch (const core::Error& e) {
        CHECK(e.kind() == core::ErrorKind::RESOURCE);
        CHECK(std::string(e.what()).find("exhausted") != std::string::npos);
    }
    CHECK(s->n_past() == 6);
    std::vector<int32_t> two = {7, 8};
    CHECK_NOTHROW(s->forward(two));
    CHECK(s->n_past() == 8);
}

TEST_CASE("token ids outside the vocabulary are BAD_INPUT", "[session]") {
    Fixture f;
    auto s = f.session(16);
    std::vector<int32_t> bad = {1, 5000000};
    CHECK_THROWS_AS(s->forward(bad), core::Error);
    std::vector<int32_t> neg = {-1};
    CHECK_THROWS_AS(s->forward(neg), core::Error);
    CHECK(s->n_past() == 0);
}

TEST_CASE("greedy generation is deterministic and stops at n_predict", "[session][generate]") {
    Fixture f;
    auto run_once = [&] {
        auto s = f.session(128);
        core::SamplerParams sp;
        sp.temperature = 0;
        core::Sampler sampler(sp);
        core::GenerateOptions go;
        go.n_predict = 12;
        go.ignore_eos = true;
        std::vector<int32_t> out;
        auto st = core::generate(*s, f.model.tokenizer(), sampler, {1, 2, 3}, go,
                                 [](std::string_view) { return true; }, [&](int32_t t) { out.push_back(t); });
        CHECK(st.generated_tokens == 12);
        CHECK(st.stop_reason == "length");
        CHECK(st.ttft_ms > 0);
        return out;
    };
    CHECK(run_once() == run_once());
}

TEST_CASE("several sequences in one step graph give the same logits as each alone", "[session][multiseq]") {
    Fixture f;
    core::SessionOptions so;
    so.n_ctx = 3 * 64;
    so.n_seq = 3;
    core::Session multi(f.model, f.reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3, 4, 5}, {9, 8}, {100, 200, 300, 400, 500, 600, 7}};
    std::vector<core::SeqInput> in;
    for (uint32_t s = 0; s < 3; ++s) in.push_back({s, prompts[s], s == 2});
    std::vector<float> batched = multi.forward_batch(in);
    const size_t V = size_t(f.model.hparams().n_vocab);
    REQUIRE(batched.size() == (1 + 1 + prompts[2].size()) * V);
    size_t row = 0;
    for (uint32_t s = 0; s < 3; ++s) {
        auto alone = f.session(64)->forward(prompts[s], s == 2);
        for (size_t i = 0; i < alone.size(); ++i) REQUIRE(alone[i] == batched[row * V + i]);
        row += alone.size() / V;
    }
    // One decode step for all three: still identical to continuing each alone.
    std::vector<int32_t> next = {11, 12, 13};
    std::vector<core::SeqInput> step;
    for (uint32_t s = 0; s < 3; ++s) step.push_back({s, std::span<const int32_t>(&next[s], 1), false});
    std::vector<float> stepped = multi.forward_batch(step);
    for (uint32_t s = 0; s < 3; ++s) {
        auto sess = f.session(64);
        sess->forward(prompts[s]);
        auto alone = sess->forward(std::span<const int32_t>(&next[s], 1));
        for (size_t i = 0; i < V; ++i) REQUIRE(alone[i] == stepped[s * V + i]);
        CHECK(multi.n_past(s) == prompts[s].size() + 1);
    }
}

TEST_CASE("a sequence id outside the session or given twice is a usage error", "[session][multiseq]") {
    Fixture f;
    auto s = f.session(32);
    std::vector<int32_t> t = {1, 2};
    std::vector<core::SeqInput> bad = {{1, t, false}};
    CHECK_THROWS_AS(s->forward_batch(bad), core::Error);
    core::SessionOptions so;
    so.n_ctx = 64;
    so.n_seq = 2;
    core::Session two(f.model, f.reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    std::vector<core::SeqInput> dup = {{0, t, false}, {0, t, false}};
    CHECK_THROWS_AS(two.forward_batch(dup), core::Error);
    CHECK(two.n_past(0) == 0);
}

TEST_CASE("parallel greedy generation equals single generation for every sequence", "[session][generate][multiseq]") {
    Fixture f;
    core::SamplerParams sp;
    sp.temperature = 0;
    core::GenerateOptions go;
    go.n_predict = 10;
    go.ignore_eos = true;
    std::vector<int32_t> single;
    {
        auto s = f.session(64);
        core::Sampler sampler(sp);
        core::generate(*s, f.model.tokenizer(), sampler, {5, 6, 7}, go, [](std::string_view) { return true; },
                       [&](int32_t t) { single.push_back(t); });
    }
    core::SessionOptions so;
    so.n_ctx = 4 * 64;
    so.n_seq = 4;
    core::Session multi(f.model, f.reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    std::vector<core::Sampler> samplers(4, core::Sampler(sp));
    std::vector<std::vector<int32_t>> got(4);
    core::GenerationStats agg;
    auto st = core::generate_parallel(multi, f.model.tokenizer(), samplers, {5, 6, 7}, go,
                                      [&](uint32_t s, int32_t t) { got[s].push_back(t); }, agg);
    REQUIRE(st.size() == 4);
    for (auto& g : got) CHECK(g == single);
    CHECK(agg.generated_tokens == 40);
    CHECK(agg.decode_tok_s > 0);
}

TEST_CASE("parallel generation over a forking KV manager shares the prompt and still equals single generation",
          "[session][generate][multiseq][paged]") {
    Fixture f;
    core::SamplerParams sp;
    sp.temperature = 0;
    core::GenerateOptions go;
    go.n_predict = 8;
    go.ignore_eos = true;
    // 6 prompt tokens with blocks of 4: one block is shared, the remaining 2 tokens are recomputed per fork.
    const std::vector<int32_t> prompt = {5, 6, 7, 8, 9, 10};
    std::vector<int32_t> single;
    {
        auto s = f.session(64);
        core::Sampler sampler(sp);
        core::generate(*s, f.model.tokenizer(), sampler, prompt, go, [](std::string_view) { return true; },
                       [&](int32_t t) { single.push_back(t); });
    }
    core::SessionOptions so;
    so.n_ctx = 3 * 64;
    so.n_seq = 3;
    so.kv_options = {{"block_size", "4"}};
    core::Session multi(f.model, f.reg.get(APH_PLUGIN_KV_CACHE, "paged"), so);
    REQUIRE(multi.kv().can_fork());
    std::vector<core::Sampler> samplers(3, core::Sampler(sp));
    std::vector<std::vector<int32_t>> got(3);
    core::GenerationStats agg;
    core::generate_parallel(multi, f.model.tokenizer(), samplers, prompt, go,
                            [&](uint32_t s, int32_t t) { got[s].push_back(t); }, agg);
    CHECK(agg.prompt_tokens_shared == 2 * 4);
    for (auto& g : got) CHECK(g == single);
}

TEST_CASE("the paged prefix cache reuses a repeated prompt's blocks and gives identical logits",
          "[session][paged][prefix]") {
    Fixture f;
    core::SessionOptions so;
    so.n_ctx = 16;  // 4 blocks of 4: a second, different prompt forces cached blocks to be evicted
    so.kv_options = {{"block_size", "4"}};
    core::Session s(f.model, f.reg.get(APH_PLUGIN_KV_CACHE, "paged"), so);
    REQUIRE(s.kv().can_prefix_cache());
    const std::vector<int32_t> prompt = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
    const std::vector<float> fresh = f.session(64)->forward(prompt);

    std::vector<float> first = s.forward(prompt);
    CHECK(first == fresh);
    CHECK(s.prefix_cached_tokens() == 0);
    s.reset(0);
    std::vector<float> again = s.forward(prompt);
    CHECK(again == fresh);
    CHECK(s.prefix_cached_tokens() == 8);  // two whole blocks; the last two tokens are computed
    CHECK(s.n_past(0) == prompt.size());
    // Decoding after a cached prefix continues exactly like a fresh sequence.
    const int32_t next = 7;
    auto fresh_sess = f.session(64);
    fresh_sess->forward(prompt);
    CHECK(s.forward(std::span<const int32_t>(&next, 1)) == fresh_sess->forward(std::span<const int32_t>(&next, 1)));

    // A prompt sharing only the first block reuses one block.
    s.reset(0);
    const std::vector<int32_t> other = {3, 1, 4, 1, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    CHECK(s.forward(other) == f.session(64)->forward(other));  // needs all 4 blocks: cached ones are evicted
    CHECK(s.prefix_cached_tokens() == 8 + 4);
    CHECK(s.kv().stats().evictions >= 1);
}
