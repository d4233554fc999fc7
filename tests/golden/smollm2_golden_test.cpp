// SmolLM2-135M-Instruct (Q4_1) through the core API against golden data recorded from llama.cpp
// (llama-cpp-python, see the header of smollm2_goldens.hpp for the exact command, version and model sha256):
// tokenization, the first greedy tokens of fixed prompts, and the logits of every position of a fixed sequence.
// Skipped with a WARN when the model file is absent (scripts/fetch-models.sh fetches it).
#include "smollm2_goldens.hpp"
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/model.hpp>
#include <aprhost/core/plugin_registry.hpp>
#include <aprhost/core/session.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <vector>

using namespace aprhost;
namespace golden = aprhost::test::smollm2_goldens;

namespace {


// The model on the CPU backend with a contiguous KV cache (members in construction order: the registry must
// outlive everything made from its plugins).
struct Engine {
    core::PluginRegistry reg{test::build_tree_plugins()};
    std::shared_ptr<core::BackendContext> be;
    std::unique_ptr<core::Model> model;
    std::unique_ptr<core::Session> session;

    explicit Engine(const std::string& path) {
        be = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "cpu"), {{"threads", "2"}});
        model = std::make_unique<core::Model>(reg, path, be);
        core::SessionOptions so;
        so.n_ctx = 256;
        session = std::make_unique<core::Session>(*model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    }
};

// nullptr (after a WARN) when the model is not there.
std::unique_ptr<Engine> open_smollm2() {
    auto path = test::smollm2_path();
    if (!path) {
        WARN("SKIPPED: SmolLM2 model not found (run scripts/fetch-models.sh or set APRHOST_SMOLLM2)");
        return nullptr;
    }
    return std::make_unique<Engine>(*path);
}

// Index of the largest value; the lowest index wins ties, as numpy's argmax does in the golden script.
size_t argmax(std::span<const float> z) {
    return size_t(std::max_element(z.begin(), z.end()) - z.begin());
}

// Largest minus second-largest value.
float top_gap(std::span<const float> z) {
    std::vector<float> v(z.begin(), z.end());
    std::partial_sort(v.begin(), v.begin() + 2, v.end(), std::greater<>());
    return v[0] - v[1];
}

double logsumexp(std::span<const float> z) {
    const double m = *std::max_element(z.begin(), z.end());
    double s = 0;
    for (float x : z) s += std::exp(double(x) - m);
    return m + std::log(s);
}

std::string ids_to_string(const std::vector<int32_t>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(v[i]);
    }
    return s;
}

}  // namespace

TEST_CASE("SmolLM2 tokenization equals llama.cpp's", "[golden][smollm2][tokenizer]") {
    auto e = open_smollm2();
    if (!e) return;
    const core::Tokenizer& tok = e->model->tokenizer();
    CHECK_FALSE(tok.add_bos_default());  // SmolLM2: tokenizer.ggml.add_bos_token = false
    for (const auto& p : golden::prompts()) {
        INFO("prompt " << p.name);
        std::vector<int32_t> ids = tok.encode(p.text, tok.add_bos_default(), p.parse_special);
        CHECK(ids_to_string(ids) == ids_to_string(p.ids));
    }
}

TEST_CASE("SmolLM2 chat template renders the golden chat prompt", "[golden][smollm2][chat]") {
    auto e = open_smollm2();
    if (!e) return;
    const core::ChatTemplate& tmpl = e->model->chat_template();
    CHECK(tmpl.format == core::ChatFormat::CHATML);
    CHECK(tmpl.default_system == golden::kDefaultSystem);
    // The golden text is what the model's Jinja template renders for one user message and no system message (it
    // then inserts its default system message); the CLI passes that default explicitly, as here.
    std::string text = tmpl.apply({{"system", tmpl.default_system}, {"user", golden::kChatUser}}, true);
    auto it = std::find_if(golden::prompts().begin(), golden::prompts().end(),
                           [](const auto& p) { return std::string(p.name) == "chat"; });
    REQUIRE(it != golden::prompts().end());
    CHECK(text == it->text);
}

// How far ours may sit from llama.cpp's logits, and why it is this far. Both engines quantize the activations of
// every matmul to 8 bits (llama.cpp Q8_1/Q8_0 blocks, aprhost its own blocks) and round differently; over the 30
// layers of SmolLM2 that moves logits by ~1-2 (whole vocabulary, mean abs ~0.2; logits have a stddev of ~3.5).
// This is not an aprhost error: a float64 forward of the dequantized weights puts both engines at the same
// distance from it (max abs 1.2-1.6 aprhost, 1.4 llama.cpp on the logits sequence), and float64 with 8-bit
// activation rounding added lands there too (1.16). Measured with llama-cpp-python 0.3.36 against two successive
// versions of the cpu-avx2 kernels (2 threads): over the 4 x 32 teacher-forced greedy steps |our margin for
// llama.cpp's token - llama.cpp's top-1 gap| <= 0.65 and <= 0.88; 4 and 7 steps of 128 pick another token, all
// where llama.cpp's gap is <= 0.32. So a decision whose top-1 gap is under kGapTol is a near-tie either engine may
// take either way; 1.5 is the larger measurement with a 1.7x margin. (A relative 1e-3 tie rule would be far inside
// this noise and fail on the first kernel change.)
constexpr double kGapTol = 1.5;

// Our margin for token want: its logit minus the best other logit (negative when we prefer another token).
double margin_for(std::span<const float> z, int32_t want) {
    float other = -INFINITY;
    for (size_t j = 0; j < z.size(); ++j)
        if (j != size_t(want)) other = std::max(other, z[j]);
    return double(z[size_t(want)]) - double(other);
}

TEST_CASE("SmolLM2 greedy continuation equals llama.cpp's", "[golden][smollm2][greedy]") {
    auto e = open_smollm2();
    if (!e) return;
    for (const auto& p : golden::prompts()) {
        SECTION(std::string("free-running: ") + p.name) {
            // Our own greedy decoding. It must equal llama.cpp's up to the first divergence, and a divergence is
            // only allowed at a near-tie in both engines. Measured (kernels of the first version / the second):
            // plain diverges at step 17 / 4, chat at - (all 32 equal) / 7, code at 13 / 13, accents_numbers at
            // 8 / 8; llama.cpp's gap there is 0.02-0.32, ours 0.01-0.26.
            std::vector<int32_t> ours;
            std::vector<float> our_gap;
            const std::vector<float>* logits = &e->session->forward(p.ids, false);
            for (int i = 0; i < golden::kGreedyTokens; ++i) {
                auto tok = int32_t(argmax(*logits));
                ours.push_back(tok);
                our_gap.push_back(top_gap(*logits));
                logits = &e->session->forward(std::span<const int32_t>(&tok, 1), false);
            }
            size_t diverge = 0;
            while (diverge < ours.size() && ours[diverge] == p.greedy[diverge]) ++diverge;
            INFO("prompt " << p.name << ": equal for " << diverge << " of " << ours.size() << " tokens"
                           << "\n  ours:      " << ids_to_string(ours) << "\n  llama.cpp: " << ids_to_string(p.greedy));
            if (diverge < ours.size()) {
                INFO("at the divergence: llama.cpp gap " << p.gap[diverge] << ", ours " << our_gap[diverge]);
                CHECK(p.gap[diverge] < kGapTol);
                CHECK(our_gap[diverge] < kGapTol);
            }
        }
        SECTION(std::string("teacher-forced: ") + p.name) {
            // Feed llama.cpp's tokens so one near-tie does not end the comparison: at all 32 steps our margin for
            // llama.cpp's token is within kGapTol of llama.cpp's own gap; so wherever llama.cpp's gap exceeds
            // kGapTol we pick the same token. Measured: 124 of 128 steps pick the same token; the 4 others have
            // llama.cpp gaps 0.048-0.12.
            const std::vector<float>* logits = &e->session->forward(p.ids, false);
            for (int i = 0; i < golden::kGreedyTokens; ++i) {
                const int32_t want = p.greedy[size_t(i)];
                const double margin = margin_for(*logits, want);
                const double gap = p.gap[size_t(i)];
                INFO("prompt " << p.name << " step " << i << ": llama.cpp gap " << gap << ", our margin " << margin);
                CHECK(std::fabs(margin - gap) <= kGapTol);
                if (gap >= kGapTol) CHECK(margin > 0);
                logits = &e->session->forward(std::span<const int32_t>(&want, 1), false);
            }
        }
    }
}

TEST_CASE("SmolLM2 logits of every position are close to llama.cpp's", "[golden][smollm2][logits]") {
    // Tolerances: the larger of the two measurements (see kGapTol) with a margin of about 2x. What they still catch,
    // tried on the float64 forward: correct, it sits 0.97 from llama.cpp at the top-10 ids; with the RoPE base
    // 10000 instead of 100000 it sits 2.2 away (fails kTop10Logit); with NEOX instead of NORM RoPE, 10.1.
    constexpr double kTop10Logit = 1.5;     // measured 0.75 / 0.67: |ours - llama.cpp| at llama.cpp's top-10 ids
    constexpr double kSpreadLogit = 2.0;    // measured 0.97 / 0.70: 32 ids spread over the vocabulary (all: 1.7 / 1.3)
    constexpr double kTop10LogProb = 1.25;  // measured 0.56 / 0.51: log-softmax at the top-10 ids
    constexpr double kTop10Prob = 0.2;      // measured 0.086 / 0.077: softmax probability at the top-10 ids
    constexpr double kMean = 1.5;           // measured 0.64 / 0.48: the mean logit shifts with the 8-bit rounding
    constexpr double kStddev = 0.12;        // measured 0.040 / 0.048
    constexpr double kLogSumExp = 1.0;      // measured 0.43 / 0.30
    auto e = open_smollm2();
    if (!e) return;
    const auto& toks = golden::kLogitsTokens;
    const auto& rows = golden::position_logits();
    REQUIRE(rows.size() == toks.size());
    const size_t V = size_t(e->model->hparams().n_vocab);
    std::vector<float> all = e->session->forward(toks, /*all_logits=*/true);
    REQUIRE(all.size() == toks.size() * V);

    double max_raw = 0, max_spread = 0, max_logprob = 0, max_prob = 0, max_mean = 0, max_std = 0, max_lse = 0;
    size_t top1_agree = 0;
    for (size_t pos = 0; pos < toks.size(); ++pos) {
        INFO("position " << pos);
        std::span<const float> z(all.data() + pos * V, V);
        const auto& g = rows[pos];
        REQUIRE(std::all_of(z.begin(), z.end(), [](float x) { return std::isfinite(x); }));
        const double lse = logsumexp(z);
        const double mean = std::accumulate(z.begin(), z.end(), 0.0) / double(V);
        double var = 0;
        for (float x : z) var += (x - mean) * (x - mean);
        const double stddev = std::sqrt(var / double(V));
        for (int k = 0; k < golden::kTopK; ++k) {
            const double ours = z[size_t(g.top_ids[size_t(k)])];
            const double lp_ours = ours - lse, lp_gold = double(g.top_vals[size_t(k)]) - g.logsumexp;
            max_raw = std::max(max_raw, std::fabs(ours - g.top_vals[size_t(k)]));
            max_logprob = std::max(max_logprob, std::fabs(lp_ours - lp_gold));
            max_prob = std::max(max_prob, std::fabs(std::exp(lp_ours) - std::exp(lp_gold)));
        }
        for (int k = 0; k < golden::kSpread; ++k)
            max_spread = std::max(max_spread, std::fabs(double(z[size_t(golden::kSpreadIds[size_t(k)])]) -
                                                        g.spread_vals[size_t(k)]));
        // Top-1: the same rule as the greedy steps.
        const double gap = double(g.top_vals[0]) - double(g.top_vals[1]);
        const double margin = margin_for(z, g.top_ids[0]);
        INFO("llama.cpp top-1 gap " << gap << ", our margin " << margin);
        CHECK(std::fabs(margin - gap) <= kGapTol);
        if (gap >= kGapTol) CHECK(argmax(z) == size_t(g.top_ids[0]));
        top1_agree += argmax(z) == size_t(g.top_ids[0]);
        max_mean = std::max(max_mean, std::fabs(mean - g.mean));
        max_std = std::max(max_std, std::fabs(stddev - g.stddev));
        max_lse = std::max(max_lse, std::fabs(lse - g.logsumexp));
    }
    INFO("max abs diffs: top-10 logits " << max_raw << ", spread logits " << max_spread << ", top-10 log-probs "
                                         << max_logprob << ", top-10 probs " << max_prob << ", mean " << max_mean
                                         << ", stddev " << max_std << ", logsumexp " << max_lse << "; top-1 agrees at "
                                         << top1_agree << "/" << toks.size() << " positions");
    CHECK(max_raw <= kTop10Logit);
    CHECK(max_spread <= kSpreadLogit);
    CHECK(max_logprob <= kTop10LogProb);
    CHECK(max_prob <= kTop10Prob);
    CHECK(max_mean <= kMean);
    CHECK(max_std <= kStddev);
    CHECK(max_lse <= kLogSumExp);
    // Measured 17/17 both times; positions 2 and 9 have llama.cpp gaps of 0.53 and 0.64 (near-ties by kGapTol), so
    // they may flip; every other position is checked above to agree.
    CHECK(top1_agree + 2 >= toks.size());
}
