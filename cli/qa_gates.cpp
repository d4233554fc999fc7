#include "qa_gates.hpp"

#include "tool_env.hpp"

#include <aprhost/core/bench.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/generator.hpp>
#include <aprhost/core/perplexity.hpp>
#include <aprhost/core/sampler.hpp>
#include <aprhost/core/session.hpp>

#include <conformance.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

namespace aprhost::cli::qa {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

Gate make_gate(const char* name, const char* seed_id, const char* op, nlohmann::json threshold, const char* unit) {
    Gate g;
    g.name = name;
    g.seed_id = seed_id;
    g.op = op;
    g.threshold = std::move(threshold);
    g.unit = unit;
    return g;
}

// Runs f (which fills in g); an exception is the gate's FAIL, never a crash of the report.
template <class F>
Gate timed(Gate g, F f) {
    const auto t0 = Clock::now();
    try {
        f(g);
    } catch (const std::exception& e) {
        g.status = GateStatus::FAIL;
        g.value = nullptr;
        g.detail = std::string("error: ") + e.what();
    }
    g.ms = ms_since(t0);
    return g;
}

void set_result(Gate& g, const conformance::Result& r) {
    g.status = r.status == conformance::Status::PASS   ? GateStatus::PASS
               : r.status == conformance::Status::FAIL ? GateStatus::FAIL
                                                       : GateStatus::SKIP;
    g.value = r.status == conformance::Status::SKIP ? nlohmann::json(nullptr) : nlohmann::json(r.error);
    if (r.status != conformance::Status::SKIP) g.threshold = r.threshold;
    g.detail = r.detail;
}

GateStatus pass_if(bool ok) { return ok ? GateStatus::PASS : GateStatus::FAIL; }

// The first `max_bytes` of a text, cut after the last whitespace so no word (or UTF-8 sequence) is split.
std::string text_prefix(const std::string& text, size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    size_t cut = text.find_last_of(" \t\n", max_bytes);
    return text.substr(0, cut == std::string::npos ? max_bytes : cut + 1);
}

}  // namespace

const char* default_dataset() { return "/usr/share/common-licenses/GPL-3"; }

QaRunner::QaRunner(const AppContext& ctx, QaOptions options)
    : ctx_(ctx), o_(std::move(options)), backend_(ctx.create_backend()) {
    ctx_.kv_plugin();  // like --backend: a --kv that cannot be used is the CLI's error (exit 3), not a gate
    if (o_.backends.empty()) {  // --backend first, then every other loaded backend plugin
        o_.backends.push_back(backend_->plugin().display_name());
        for (auto& p : ctx_.registry().plugins(APH_PLUGIN_BACKEND))
            if (p->path != backend_->plugin().path) o_.backends.push_back(p->display_name());
    }
}

QaRunner::~QaRunner() = default;

bool QaRunner::wants(const std::string& gate) const {
    return std::find(o_.gates.begin(), o_.gates.end(), gate) != o_.gates.end();
}

nlohmann::json QaRunner::config() const {
    return {{"gates", o_.gates},
            {"backends", o_.backends},
            {"golden_prompt", o_.golden_prompt},
            {"golden_expect", o_.golden_expect},
            {"golden_tokens", o_.golden_tokens},
            {"kv_positions", o_.kv_positions},
            {"prompt_tokens", o_.prompt_tokens},
            {"gen_tokens", o_.gen_tokens},
            {"iterations", o_.iterations},
            {"warmup", o_.warmup},
            {"min_tps", o_.min_tps},
            {"max_cv_pct", o_.max_cv},
            {"contexts", o_.contexts},
            {"context_steps", o_.context_steps},
            {"max_context_ratio", o_.max_context_ratio},
            {"dataset", o_.dataset.empty() ? std::string(default_dataset()) : o_.dataset},
            {"ppl_tokens", o_.ppl_tokens},
            {"ppl_ctx", o_.ppl_ctx},
            {"ppl_stride", std::max(1, o_.ppl_ctx / 2)},
            {"ppl_threshold", o_.ppl_threshold}};
}

std::vector<Gate> QaRunner::run(const std::function<void(const Gate&)>& on_gate) {
    std::vector<Gate> out;
    auto emit = [&](Gate g) {
        if (on_gate) on_gate(g);
        out.push_back(std::move(g));
    };
    // The model loads whatever is selected (the other gates need it); a failed load is always reported.
    Gate load = loads();
    if (wants("loads") || load.status == GateStatus::FAIL) emit(load);
    if (wants("golden")) emit(golden());
    if (wants("kv_invariant")) emit(kv_invariant());
    if (wants("parity"))
        for (auto& g : parity()) emit(std::move(g));
    if (wants("throughput") || wants("bench_cv"))
        for (auto& g : bench()) emit(std::move(g));
    if (wants("context_ratio")) emit(context_ratio());
    if (wants("perplexity")) emit(perplexity());
    if (model_) {
        memory_ = memory_record(*model_);  // before hashing the model file, which allocates a read buffer
        try {
            core::SessionOptions so;
            so.n_ctx = 16;
            so.kv_options = ctx_.kv_options();
            core::Session session(*model_, ctx_.kv_plugin(), so);
            environment_ = environment_record(ctx_.options(), *model_, session, o_.model);
        } catch (const std::exception& e) {
            environment_ = {{"error", e.what()}};  // the gates' verdicts stand; the record says why this is missing
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// loads: the file opens, is described, its tokenizer builds and its weights reach the backend.

Gate QaRunner::loads() {
    return timed(make_gate("loads", "", "", nullptr, "ms"), [&](Gate& g) {
        const auto t0 = Clock::now();
        try {
            model_ = std::make_unique<core::Model>(ctx_.registry(), o_.model, backend_, ctx_.format_options());
        } catch (const std::exception& e) {
            load_error_ = e.what();
            throw;
        }
        g.value = ms_since(t0);
        const auto& hp = model_->hparams();
        g.status = GateStatus::PASS;
        g.detail = fmt::format("{}: {} layers, {} embd, {} vocab, via {} on backend {} ({})", hp.arch, hp.n_layer,
                               hp.n_embd, hp.n_vocab, model_->file().format_plugin().display_name(),
                               backend_->plugin().display_name(), backend_->device().name);
    });
}

// The gates below need the model; when it did not load they SKIP (the loads gate carries the FAIL).
Gate QaRunner::no_model(const char* name, const char* seed_id) const {
    return Gate::skip(name, seed_id, "the model did not load: " + load_error_);
}

// ---------------------------------------------------------------------------------------------------------------
// golden: a chat model answers "What is 2+2?" with text containing "4" (greedy, so the answer is reproducible).

Gate QaRunner::golden() {
    if (!model_) return no_model("golden", "");
    if (!model_->file().metadata().has("tokenizer.chat_template"))
        return Gate::skip("golden", "",
                          "the model has no chat template (tokenizer.chat_template): the golden answer needs a chat model");
    return timed(make_gate("golden", "", "contains", o_.golden_expect, ""), [&](Gate& g) {
        const auto& tok = model_->tokenizer();
        const auto prompt = core::encode_chat_prompt(tok, model_->chat_template(), o_.golden_prompt);
        core::SessionOptions so;
        so.n_ctx = uint32_t(prompt.size()) + uint32_t(o_.golden_tokens) + 1;
        so.kv_options = ctx_.kv_options();
        core::Session session(*model_, ctx_.kv_plugin(), so);
        core::SamplerParams sp;
        sp.temperature = 0;  // greedy
        core::Sampler sampler(sp);
        core::GenerateOptions go;
        go.n_predict = uint32_t(o_.golden_tokens);
        std::string text;
        const auto st = core::generate(session, tok, sampler, prompt, go, [&](std::string_view piece) {
            text += piece;
            return true;
        });
        g.value = text;
        g.status = pass_if(text.find(o_.golden_expect) != std::string::npos);
        g.detail = fmt::format("greedy answer to \"{}\" ({} template, {} prompt tokens, {} generated, stop: {})",
                               o_.golden_prompt, core::chat_format_name(model_->chat_template().format), prompt.size(),
                               st.generated_tokens, st.stop_reason);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// kv_invariant (PMAT-103): the conformance library's model check on this model, backend and KV plugin.

Gate QaRunner::kv_invariant() {
    if (!model_) return no_model("kv_invariant", "PMAT-103");
    return timed(make_gate("kv_invariant", "PMAT-103", "<=", nullptr, ""), [&](Gate& g) {
        conformance::Env env;
        env.registry = &ctx_.registry();
        env.backend = ctx_.options().backend;
        env.backend_options = ctx_.backend_options();
        env.kv = {ctx_.options().kv};
        env.kv_options = ctx_.kv_options();
        set_result(g, conformance::check_kv_invariant(env, o_.model, ctx_.options().kv, o_.kv_positions));
    });
}

// ---------------------------------------------------------------------------------------------------------------
// parity: every other backend against the first (the conformance cross-backend check: logits NMSE per position
// and the same greedy tokens). A backend that is absent or cannot start here is a SKIP with the registry's reason.

std::vector<Gate> QaRunner::parity() {
    const std::vector<std::string>& names = o_.backends;
    if (!model_) return {no_model("parity", "")};
    if (names.size() < 2)
        return {Gate::skip("parity", "", "only one backend (" + names.front() +
                                             ") is loaded: nothing to compare (name others with --backends)")};
    const std::string& ref = names.front();
    try {
        ctx_.registry().get(APH_PLUGIN_BACKEND, ref);
    } catch (const core::Error& e) {
        Gate g = Gate::skip("parity", "", "the reference backend is unavailable: " + std::string(e.what()));
        g.target = ref;
        return {g};
    }
    std::vector<Gate> out;
    for (size_t i = 1; i < names.size(); ++i) {
        Gate base = make_gate("parity", "", "<=", nullptr, "nmse");
        base.target = names[i];
        out.push_back(timed(base, [&](Gate& g) {
            conformance::Env env;
            env.registry = &ctx_.registry();
            env.backend = names[i];
            env.reference_backend = ref;
            try {
                env.backend_context();  // availability: found, accepted, able to create a context
            } catch (const core::Error& e) {
                g.status = GateStatus::SKIP;
                g.threshold = nullptr;
                g.detail = e.what();
                return;
            }
            set_result(g, conformance::check_cross_backend(env, o_.model));
        }));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// throughput (decode tok/s >= --min-tps) and bench_cv (F-PERF-005: run-to-run CV <= --max-cv) from one run of
// `aprhost bench`'s core: synthetic prompts of exact length, warm-up apart, per-iteration samples.

std::vector<Gate> QaRunner::bench() {
    Gate tp = make_gate("throughput", "F-PERF-004", ">=", o_.min_tps, "tok/s");
    Gate cv = make_gate("bench_cv", "F-PERF-005", "<=", o_.max_cv, "%");
    if (!model_) {
        tp = no_model("throughput", "F-PERF-004");
        cv = no_model("bench_cv", "F-PERF-005");
    } else {
        const auto t0 = Clock::now();
        try {
            const auto prompt = core::synthetic_prompt(model_->tokenizer(), size_t(o_.prompt_tokens), 42);
            core::SessionOptions so;
            so.n_ctx = uint32_t(o_.prompt_tokens + o_.gen_tokens + 1);
            so.kv_options = ctx_.kv_options();
            core::Session session(*model_, ctx_.kv_plugin(), so);
            const auto run = core::run_bench(session, prompt, uint32_t(o_.gen_tokens), o_.warmup, o_.iterations);
            const auto b = core::bench_samples(run.measured, true);
            const auto &pp = b.s_prefill_tok_s, &tg = b.s_decode_tok_s;
            tp.value = tg.median;
            tp.status = pass_if(tg.median >= o_.min_tps);  // NaN fails
            tp.detail = fmt::format("median decode tok/s of {} iterations × {} tokens after {} warm-up (mean {:.1f}, "
                                    "min {:.1f}, max {:.1f}); prefill pp{} median {:.1f} tok/s",
                                    tg.n, o_.gen_tokens, o_.warmup, tg.mean, tg.min, tg.max, o_.prompt_tokens,
                                    pp.median);
            const double worst = std::max(pp.cv_pct, tg.cv_pct);
            cv.value = worst;
            cv.status = pass_if(worst <= o_.max_cv);
            cv.detail = fmt::format("larger of prefill CV {:.2f} % (pp{}) and decode CV {:.2f} % (tg{}) over {} "
                                    "iterations (same run as throughput)",
                                    pp.cv_pct, o_.prompt_tokens, tg.cv_pct, o_.gen_tokens, tg.n);
        } catch (const std::exception& e) {
            for (Gate* g : {&tp, &cv}) g->status = GateStatus::FAIL, g->detail = std::string("error: ") + e.what();
        }
        tp.ms = cv.ms = ms_since(t0);
    }
    std::vector<Gate> out;
    if (wants("throughput")) out.push_back(tp);
    if (wants("bench_cv")) out.push_back(cv);
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// context_ratio (F-PERF-001): `aprhost profile --context 10,100`'s measurement, median decode step time at the
// last context over the first.

Gate QaRunner::context_ratio() {
    if (!model_) return no_model("context_ratio", "F-PERF-001");
    return timed(make_gate("context_ratio", "F-PERF-001", "<", o_.max_context_ratio, "x"), [&](Gate& g) {
        const int max_ctx = *std::max_element(o_.contexts.begin(), o_.contexts.end());
        core::SessionOptions so;
        so.n_ctx = uint32_t(max_ctx + o_.context_steps + 1);
        const int64_t train = model_->hparams().n_ctx_train;
        if (train > 0 && int64_t(so.n_ctx) > train) {
            g.status = GateStatus::SKIP;
            g.detail = fmt::format("{} tokens exceed the model's context of {}", so.n_ctx, train);
            return;
        }
        so.kv_options = ctx_.kv_options();
        core::Session session(*model_, ctx_.kv_plugin(), so);
        core::measure_context_cost(session, {o_.contexts.front()}, 2);  // warm-up: the first context is not cold
        const auto c = core::measure_context_cost(session, o_.contexts, o_.context_steps);
        g.value = c.ratio;
        g.status = pass_if(c.ratio > 0 && c.ratio < o_.max_context_ratio);
        g.detail = fmt::format("decode step {:.3f} ms at context {} vs {:.3f} ms at {} (median of {} steps each)",
                               c.step_ms.back(), o_.contexts.back(), c.step_ms.front(), o_.contexts.front(),
                               o_.context_steps);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// perplexity (F-PERF-006): `aprhost eval`'s sliding window over the first --ppl-tokens tokens of the dataset;
// finite and <= --ppl-threshold.

Gate QaRunner::perplexity() {
    if (!model_) return no_model("perplexity", "F-PERF-006");
    const std::string path = o_.dataset.empty() ? std::string(default_dataset()) : o_.dataset;
    if (o_.dataset.empty() && !std::filesystem::exists(path))
        return Gate::skip("perplexity", "F-PERF-006",
                          "no --dataset given and the default text " + path + " is not on this system");
    return timed(make_gate("perplexity", "F-PERF-006", "<=", o_.ppl_threshold, ""), [&](Gate& g) {
        const auto& tok = model_->tokenizer();
        // Tokenize only what is scored: a few bytes per token is plenty for any text (a 500 MB corpus stays fast).
        auto tokens = tok.encode(text_prefix(core::read_dataset(path), size_t(o_.ppl_tokens) * 16),
                                 tok.add_bos_default(), /*parse_special=*/false);
        if (tokens.size() > size_t(o_.ppl_tokens)) tokens.resize(size_t(o_.ppl_tokens));
        if (tokens.size() < 2) throw core::Error(core::ErrorKind::BAD_INPUT, "the dataset " + path + " has < 2 tokens");
        uint32_t ctx = uint32_t(o_.ppl_ctx);
        if (model_->hparams().n_ctx_train > 0) ctx = std::min(ctx, uint32_t(model_->hparams().n_ctx_train));
        ctx = std::max<uint32_t>(2, std::min(ctx, uint32_t(tokens.size())));
        const uint32_t stride = std::max<uint32_t>(1, ctx / 2);
        core::SessionOptions so;
        so.n_ctx = ctx;
        so.kv_options = ctx_.kv_options();
        core::Session session(*model_, ctx_.kv_plugin(), so);
        const auto r = core::evaluate_perplexity(session, tokens, ctx, stride);
        g.value = r.finite ? r.ppl : NAN;
        g.status = pass_if(r.finite && r.ppl <= o_.ppl_threshold);
        if (r.finite)
            g.detail = fmt::format("{}: {} tokens, {} scored in {} windows of {} (stride {}), 95 % CI {:.2f} – {:.2f}",
                                   path, r.tokens_total, r.tokens_scored, r.windows, ctx, stride, r.ppl_ci95_low,
                                   r.ppl_ci95_high);
        else
            g.detail = fmt::format("{}: NOT FINITE ({} of {} token NLLs are NaN/inf)", path, r.non_finite,
                                   r.tokens_scored);
    });
}

}  // namespace aprhost::cli::qa
