// `aprhost bench MODEL`: llama-bench style prompt-processing (pp) and text-generation (tg) throughput with
// synthetic prompts of exact token counts, warm-up runs apart from measured runs, per-iteration samples, latency
// percentiles, memory and an environment record. Exit 1 when the run-to-run CV exceeds --max-cv (F-PERF-005).
#include "commands.hpp"
#include "output.hpp"
#include "tool_env.hpp"

#include <aprhost/core/bench.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/sample_stats.hpp>
#include <aprhost/core/session.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace aprhost::cli {

namespace {

struct BenchOptions {
    std::string model;
    int prompt_tokens = 128;
    int gen_tokens = 128;
    int iterations = 10;
    int warmup = 3;
    int batch = 512;
    uint64_t seed = 42;
    double max_cv = 20.0;
    bool json = false;
};

nlohmann::json summary_json(const core::SampleSummary& s, bool percentiles) {
    nlohmann::json j = {{"n", s.n},           {"mean", s.mean}, {"median", s.median}, {"min", s.min},
                        {"max", s.max},       {"stddev", s.stddev}, {"cv_pct", s.cv_pct}};
    if (percentiles) j.update({{"p50", s.p50}, {"p95", s.p95}, {"p99", s.p99}});
    return j;
}

}  // namespace

Runner add_bench_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("bench", "Benchmark prefill (pp) and decode (tg) throughput; exit 1 if CV > --max-cv");
    auto o = std::make_shared<BenchOptions>();
    cmd->add_option("model", o->model, "Model file")->required();
    cmd->add_option("--prompt-tokens", o->prompt_tokens, "Synthetic prompt length in tokens (pp)")
        ->capture_default_str()->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--gen-tokens", o->gen_tokens, "Decode steps per iteration (tg)")
        ->capture_default_str()->check(CLI::Range(0, 1 << 20));
    cmd->add_option("--iterations", o->iterations, "Measured iterations")->capture_default_str()->check(CLI::Range(1, 100000));
    cmd->add_option("--warmup", o->warmup, "Untimed warm-up iterations before the measured ones")
        ->capture_default_str()->check(CLI::Range(0, 100000));
    cmd->add_option("-b,--batch", o->batch, "Prefill chunk size (tokens per step graph)")
        ->capture_default_str()->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--seed", o->seed, "Seed of the synthetic prompt's token ids")->capture_default_str();
    cmd->add_option("--max-cv", o->max_cv, "Fail (exit 1) when the CV of prefill or decode tok/s exceeds this, in %")
        ->capture_default_str()->check(CLI::Range(0.0, 1e12));
    cmd->add_flag("--json", o->json, "Print one JSON record (raw samples included)");
    return [&g, o]() {
        AppContext ctx(g);
        auto backend = ctx.create_backend();
        core::Model model(ctx.registry(), o->model, backend, ctx.format_options());
        core::SessionOptions so;
        so.n_ctx = uint32_t(o->prompt_tokens) + uint32_t(o->gen_tokens) + 1;
        so.n_batch = uint32_t(o->batch);
        so.kv_options = ctx.kv_options();
        core::Session session(model, ctx.kv_plugin(), so);
        const auto prompt = core::synthetic_prompt(model.tokenizer(), size_t(o->prompt_tokens), o->seed);
        const uint32_t n_gen = uint32_t(o->gen_tokens);

        const auto bench = core::run_bench(session, prompt, n_gen, o->warmup, o->iterations, [&](int i, int total) {
            progress_bar(i < o->warmup ? "warm-up" : "measuring", uint64_t(i), uint64_t(total));
        });
        const int total = o->warmup + o->iterations;
        progress_bar("done", uint64_t(total), uint64_t(total));
        progress_done();
        const auto& warm = bench.warmup;
        const auto b = core::bench_samples(bench.measured, n_gen > 0);
        const auto &pp = b.prefill_tok_s, &tg = b.decode_tok_s, &ttft = b.ttft_ms, &prefill_ms = b.prefill_ms,
                   &decode_ms = b.decode_ms;
        const nlohmann::json itl_raw = b.itl_by_run;
        const auto &s_pp = b.s_prefill_tok_s, &s_tg = b.s_decode_tok_s, &s_ttft = b.s_ttft_ms, &s_itl = b.s_itl_ms;
        const bool pp_ok = s_pp.cv_pct <= o->max_cv, tg_ok = s_tg.cv_pct <= o->max_cv;
        const bool pass = pp_ok && tg_ok;
        const std::string pp_name = fmt::format("pp{}", o->prompt_tokens), tg_name = fmt::format("tg{}", n_gen);
        auto mem = memory_record(model);  // before hashing the model file, which allocates a read buffer
        auto env = environment_record(g, model, session, o->model);

        if (o->json) {
            std::vector<double> warm_pp, warm_tg;
            for (auto& r : warm) warm_pp.push_back(r.prefill_tok_s), warm_tg.push_back(r.decode_tok_s);
            nlohmann::json j = {
                {"tool", "bench"},
                {"config", {{"prompt_tokens", o->prompt_tokens}, {"gen_tokens", n_gen}, {"iterations", o->iterations},
                            {"warmup", o->warmup}, {"batch", o->batch}, {"seed", o->seed}, {"max_cv_pct", o->max_cv},
                            {"pp_test", pp_name}, {"tg_test", tg_name}}},
                {"environment", env},
                {"memory", mem},
                {"prefill_tok_s", summary_json(s_pp, false)},
                {"decode_tok_s", summary_json(s_tg, false)},
                {"ttft_ms", summary_json(s_ttft, true)},
                {"itl_ms", summary_json(s_itl, true)},
                {"samples", {{"prefill_tok_s", pp}, {"decode_tok_s", tg}, {"ttft_ms", ttft}, {"prefill_ms", prefill_ms},
                             {"decode_ms", decode_ms}, {"itl_ms", itl_raw}}},
                {"warmup_samples", {{"prefill_tok_s", warm_pp}, {"decode_tok_s", warm_tg}}},
                {"gate", {{"name", "F-PERF-005"}, {"max_cv_pct", o->max_cv}, {"prefill_cv_pct", s_pp.cv_pct},
                          {"decode_cv_pct", s_tg.cv_pct}, {"pass", pass}}}};
            fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
        } else {
            fmt::print("model   {} (sha256 {})\n", o->model, env["model_sha256"].get<std::string>());
            fmt::print("backend {} {} on {} | cpu {} | threads {} | kv {} | commit {}\n",
                       env["backend"].get<std::string>(), env["backend_version"].get<std::string>(),
                       env["device"].get<std::string>(), env["cpu_model"].get<std::string>(),
                       g.threads > 0 ? std::to_string(g.threads) : std::string("default"),
                       env["kv"].get<std::string>(), env["git_commit"].get<std::string>());
            fmt::print("{} warm-up + {} measured iterations, session reset before each\n\n", o->warmup, o->iterations);
            fmt::print("| {:<7} | {:>10} | {:>10} | {:>10} | {:>10} | {:>10} | {:>7} |\n", "test", "mean t/s", "median",
                       "min", "max", "stddev", "CV %");
            fmt::print("|{:-<9}|{:->12}|{:->12}|{:->12}|{:->12}|{:->12}|{:->9}|\n", "", "", "", "", "", "", "");
            auto row = [](const std::string& name, const core::SampleSummary& s) {
                fmt::print("| {:<7} | {:>10.2f} | {:>10.2f} | {:>10.2f} | {:>10.2f} | {:>10.2f} | {:>7.2f} |\n", name,
                           s.mean, s.median, s.min, s.max, s.stddev, s.cv_pct);
            };
            row(pp_name, s_pp);
            if (n_gen > 0) row(tg_name, s_tg);
            fmt::print("\nTTFT ms: mean {:.2f} | median {:.2f} | min {:.2f} | max {:.2f}\n", s_ttft.mean, s_ttft.median,
                       s_ttft.min, s_ttft.max);
            if (n_gen > 0)
                fmt::print("inter-token latency ms ({} steps): p50 {:.3f} | p95 {:.3f} | p99 {:.3f} | max {:.3f}\n",
                           s_itl.n, s_itl.p50, s_itl.p95, s_itl.p99, s_itl.max);
            fmt::print("memory: peak RSS {} | device allocated {} | device weights {}\n",
                       human_bytes(mem["peak_rss_bytes"].get<uint64_t>()),
                       human_bytes(mem["device_bytes_allocated"].get<uint64_t>()),
                       human_bytes(mem["device_weight_bytes"].get<uint64_t>()));
            fmt::print("F-PERF-005 (CV <= {:g} %): {} (prefill CV {:.2f} %, decode CV {:.2f} %)\n", o->max_cv,
                       pass ? "PASS" : "FAIL", s_pp.cv_pct, s_tg.cv_pct);
        }
        std::fflush(stdout);  // the record first, then the gate line on stderr
        if (!pass)
            fmt::print(stderr, "aprhost: bench: CV above {:g} % ({}{}) — the measurements are not stable\n", o->max_cv,
                       pp_ok ? "" : fmt::format("{} {:.1f} %", pp_name, s_pp.cv_pct),
                       tg_ok ? "" : fmt::format("{}{} {:.1f} %", pp_ok ? "" : ", ", tg_name, s_tg.cv_pct));
        return pass ? 0 : 1;
    };
}

}  // namespace aprhost::cli
