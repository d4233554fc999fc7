// `aprhost eval MODEL --dataset FILE`: perplexity of the model over a raw text file with the sliding-window
// method (core/perplexity.hpp), a 95 % confidence interval, a finite check and an optional --threshold gate
// (F-PERF-006). Exit 1 when the PPL is not finite or above the threshold; 2 when the dataset cannot be read.
#include "commands.hpp"
#include "output.hpp"
#include "tool_env.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/perplexity.hpp>
#include <aprhost/core/session.hpp>
#include <aprhost/core/sha256.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

namespace aprhost::cli {

namespace {

struct EvalOptions {
    std::string model;
    std::string dataset;
    int ctx = 512;
    int stride = 256;
    int batch = 512;
    std::optional<double> threshold;
    bool json = false;
};

}  // namespace

Runner add_eval_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("eval", "Perplexity over a text file (sliding window); exit 1 if not finite or > --threshold");
    auto o = std::make_shared<EvalOptions>();
    cmd->add_option("model", o->model, "Model file")->required();
    cmd->add_option("--dataset", o->dataset, "Raw text file (UTF-8)")->required();
    cmd->add_option("-c,--ctx", o->ctx, "Window size in tokens")->capture_default_str()->check(CLI::Range(2, 1 << 20));
    cmd->add_option("--stride", o->stride, "Window advance in tokens (<= --ctx)")
        ->capture_default_str()->check(CLI::Range(1, 1 << 20));
    cmd->add_option("-b,--batch", o->batch, "Prefill chunk size (tokens per step graph)")
        ->capture_default_str()->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--threshold", o->threshold, "Fail (exit 1) when the perplexity is above this");
    cmd->add_flag("--json", o->json, "Print one JSON record");
    return [&g, o]() {
        if (o->stride > o->ctx)
            throw core::Error(core::ErrorKind::USAGE, "--stride must not exceed --ctx (tokens would go unscored)");
        // The dataset is checked before the model loads: a typo should fail fast.
        const std::string text = core::read_dataset(o->dataset);
        AppContext ctx(g);
        auto backend = ctx.create_backend();
        core::Model model(ctx.registry(), o->model, backend, ctx.format_options());
        core::SessionOptions so;
        so.n_ctx = uint32_t(o->ctx);
        so.n_batch = uint32_t(o->batch);
        so.kv_options = ctx.kv_options();
        core::Session session(model, ctx.kv_plugin(), so);
        const auto& tok = model.tokenizer();
        // BOS (when the model adds one) once at the start of the text, as a tokenizer would for one document.
        const auto tokens = tok.encode(text, tok.add_bos_default(), /*parse_special=*/false);

        using clock = std::chrono::steady_clock;
        const auto t0 = clock::now();
        auto r = core::evaluate_perplexity(session, tokens, uint32_t(o->ctx), uint32_t(o->stride),
                                           [](size_t done, size_t total) { progress_bar("windows", done, total); });
        progress_done();
        const double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
        const bool above = o->threshold && !(r.ppl <= *o->threshold);
        const bool pass = r.finite && !above;
        const auto mem = memory_record(model);  // before hashing the model file, which allocates a read buffer

        if (o->json) {
            nlohmann::json j = {
                {"tool", "eval"},
                {"dataset", o->dataset},
                {"dataset_bytes", text.size()},
                {"dataset_sha256", core::sha256_hex(text)},
                {"ctx", o->ctx},
                {"stride", o->stride},
                {"add_bos", tok.add_bos_default()},
                {"tokens", r.tokens_total},
                {"tokens_scored", r.tokens_scored},
                {"windows", r.windows},
                {"mean_nll", r.finite ? nlohmann::json(r.mean_nll) : nlohmann::json(nullptr)},
                {"nll_stderr", r.finite ? nlohmann::json(r.nll_stderr) : nlohmann::json(nullptr)},
                {"ppl", r.finite ? nlohmann::json(r.ppl) : nlohmann::json(nullptr)},
                {"ppl_ci95", r.finite ? nlohmann::json::array({r.ppl_ci95_low, r.ppl_ci95_high}) : nlohmann::json(nullptr)},
                {"finite", r.finite},
                {"non_finite_tokens", r.non_finite},
                {"threshold", o->threshold ? nlohmann::json(*o->threshold) : nlohmann::json(nullptr)},
                {"pass", pass},
                {"eval_ms", ms},
                {"tok_s", ms > 0 ? double(r.tokens_scored) / (ms / 1000.0) : 0.0},
                {"environment", environment_record(g, model, session, o->model)},
                {"memory", mem}};
            fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
        } else {
            fmt::print("dataset {} ({} bytes, {} tokens) | window {} stride {} | {} windows, {} tokens scored\n",
                       o->dataset, text.size(), r.tokens_total, o->ctx, o->stride, r.windows, r.tokens_scored);
            if (r.finite)
                fmt::print("perplexity {:.4f} (95 % CI {:.4f} – {:.4f}) | mean NLL {:.5f} ± {:.5f} nats/token\n", r.ppl,
                           r.ppl_ci95_low, r.ppl_ci95_high, r.mean_nll, r.nll_stderr);
            else
                fmt::print("perplexity NOT FINITE ({} of {} token NLLs are NaN/inf)\n", r.non_finite, r.tokens_scored);
            fmt::print("{:.0f} ms ({:.1f} tok/s) | backend {} | model {}\n", ms,
                       ms > 0 ? double(r.tokens_scored) / (ms / 1000.0) : 0.0, backend->plugin().display_name(),
                       o->model);
            if (o->threshold)
                fmt::print("F-PERF-006 (finite, PPL <= {:g}): {}\n", *o->threshold, pass ? "PASS" : "FAIL");
            else
                fmt::print("F-PERF-006 (finite): {}\n", pass ? "PASS" : "FAIL");
        }
        std::fflush(stdout);  // the record first, then the gate line on stderr
        if (!r.finite) fmt::print(stderr, "aprhost: eval: the perplexity is not finite\n");
        else if (above) fmt::print(stderr, "aprhost: eval: perplexity {:.4f} is above the threshold {:g}\n", r.ppl, *o->threshold);
        return pass ? 0 : 1;
    };
}

}  // namespace aprhost::cli
