// `aprhost qa MODEL`: the falsification gates as one report — the model loads, a chat model's golden answer, the
// KV invariant, cross-backend parity, decode throughput, bench stability (CV), the O(n) context ratio and
// perplexity — each PASS / FAIL / SKIP with its measured value, threshold and duration (qa_gates.hpp measures,
// qa_report.hpp records). Exit 1 when a gate fails, 0 otherwise; arguments are checked before any gate runs and
// keep the CLI's codes (1 usage, 2 missing model or --dataset file, 3 --backend cannot start or --kv is absent).
#include "commands.hpp"
#include "qa_gates.hpp"
#include "qa_report.hpp"

#include <aprhost/core/error.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace aprhost::cli {

Runner add_qa_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("qa", "Run the falsification gates as one report (PASS/FAIL/SKIP); exit 1 if a gate fails");
    struct Opts {
        qa::QaOptions qa;
        std::string gates, backends;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    auto& q = o->qa;
    cmd->add_option("model", q.model, "Model file")->required();
    cmd->add_option("--gates", o->gates, "Comma-separated gates to run (default all): loads, golden, kv_invariant, "
                                         "parity, throughput, bench_cv, context_ratio, perplexity");
    cmd->add_option("--backends", o->backends, "Backends for the parity gate, the first is the reference (default: "
                                               "--backend, then every other loaded backend)");
    cmd->add_option("--min-tps", q.min_tps, "throughput gate: median decode tok/s at least this")
        ->capture_default_str()->check(CLI::Range(0.0, 1e300));
    cmd->add_option("--max-cv", q.max_cv, "bench_cv gate: CV of prefill and decode tok/s at most this, in %")
        ->capture_default_str()->check(CLI::Range(0.0, 1e300));
    cmd->add_option("--max-context-ratio", q.max_context_ratio, "context_ratio gate: step time at context 100 / 10 below this")
        ->capture_default_str()->check(CLI::Range(0.0, 1e300));
    cmd->add_option("--ppl-threshold", q.ppl_threshold, "perplexity gate: finite and at most this")
        ->capture_default_str()->check(CLI::Range(0.0, 1e300));
    cmd->add_option("--dataset", q.dataset, std::string("perplexity gate: raw text file (default ") +
                                                qa::default_dataset() + ", SKIP when absent)");
    cmd->add_option("--ppl-tokens", q.ppl_tokens, "perplexity gate: tokens of the dataset evaluated")
        ->capture_default_str()->check(CLI::Range(2, 1 << 24));
    cmd->add_option("--ppl-ctx", q.ppl_ctx, "perplexity gate: window in tokens (stride = half of it)")
        ->capture_default_str()->check(CLI::Range(2, 1 << 20));
    cmd->add_option("--kv-positions", q.kv_positions, "kv_invariant gate: positions compared")
        ->capture_default_str()->check(CLI::Range(1, 256));
    cmd->add_option("--prompt-tokens", q.prompt_tokens, "throughput/bench_cv: synthetic prompt length (pp)")
        ->capture_default_str()->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--gen-tokens", q.gen_tokens, "throughput/bench_cv: decode steps per iteration (tg)")
        ->capture_default_str()->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--iterations", q.iterations, "throughput/bench_cv: measured iterations")
        ->capture_default_str()->check(CLI::Range(1, 100000));
    cmd->add_option("--warmup", q.warmup, "throughput/bench_cv: warm-up iterations (not measured)")
        ->capture_default_str()->check(CLI::Range(0, 100000));
    cmd->add_option("--context-steps", q.context_steps, "context_ratio: decode steps timed per context (median)")
        ->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_option("--golden-tokens", q.golden_tokens, "golden: greedy tokens generated at most")
        ->capture_default_str()->check(CLI::Range(1, 4096));
    cmd->add_flag("--json", o->json, "Print one JSON record");
    return [&g, o]() {
        auto& q = o->qa;
        // Arguments first: a typo fails before minutes of measuring.
        q.gates = qa::parse_gate_selection(o->gates);
        q.backends = split_csv(o->backends);
        if (!std::filesystem::exists(q.model))
            throw core::Error(core::ErrorKind::BAD_INPUT, "cannot open the model '" + q.model + "': no such file");
        if (!q.dataset.empty() && !std::ifstream(q.dataset))
            throw core::Error(core::ErrorKind::BAD_INPUT, "cannot open the dataset '" + q.dataset + "'");
        AppContext ctx(g);
        qa::QaRunner runner(ctx, q);  // creates the --backend context: exit 3 when it cannot start
        if (!o->json)
            fmt::print("qa {} | backend {} | kv {} | gates {}\n", q.model, g.backend, g.kv,
                       o->gates.empty() ? "all" : o->gates);
        const auto gates = runner.run([&](const qa::Gate& gate) {
            if (o->json) return;
            fmt::print("{}\n", qa::format_gate_line(gate));
            std::fflush(stdout);
        });
        const auto& env = runner.environment();
        if (o->json) {
            fmt::print("{}\n", qa::report_json(q.model, runner.config(), env, runner.memory(), gates)
                                   .dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
        } else {
            if (env.contains("error"))
                fmt::print("environment: not recorded ({})\n", env["error"].get<std::string>());
            else if (!env.is_null())
                fmt::print("environment: {} ({} logical CPUs) | {} {} on {} | model sha256 {} | aprhost {} commit {}\n",
                           env["cpu_model"].get<std::string>(), env["logical_cpus"].get<int>(),
                           env["backend"].get<std::string>(), env["backend_version"].get<std::string>(),
                           env["device"].get<std::string>(), env["model_sha256"].get<std::string>(),
                           env["aprhost_version"].get<std::string>(), env["git_commit"].get<std::string>());
            fmt::print("{}\n", qa::format_totals(gates));
        }
        std::fflush(stdout);  // the record first, then the verdict on stderr
        const int rc = qa::exit_code(gates);
        if (rc != 0) fmt::print(stderr, "aprhost: qa: gate(s) failed: {}\n", qa::failed_gate_names(gates));
        return rc;
    };
}

}  // namespace aprhost::cli
