// `aprhost profile MODEL`: where the time of a forward step goes, measured by the backend itself (graph_profile:
// a clock around each node on the CPU, events on GPUs), per op kind and per layer, for prefill and decode
// separately, set against this machine's measured roofline (memory read bandwidth and FMA peak). Gates
// (F-PERF-001/004): decode tok/s, p99 inter-token latency, peak RSS and the O(n) context ratio; exit 1 when one
// fails. Throughput and latency come from an unprofiled pass (the per-node clocks cost a little).
#include "commands.hpp"
#include "roofline_svg.hpp"
#include "tool_env.hpp"

#include <aprhost/core/bench.hpp>
#include <aprhost/core/compute_peak.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/host_info.hpp>
#include <aprhost/core/membw.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/sample_stats.hpp>
#include <aprhost/core/session.hpp>
#include <aprhost/core/step_graph.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

namespace aprhost::cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
double safe_div(double a, double b) { return b > 0 ? a / b : 0.0; }

struct Agg {
    uint64_t ns = 0, wb = 0, ab = 0, flops = 0, count = 0;
    void add(const core::NodeProfile& n) { ns += n.ns, wb += n.weight_bytes, ab += n.act_bytes, flops += n.flops, ++count; }
};

// Roofline numbers of a set of nodes. Bytes = weights + activations; "roof_pct" is achieved GFLOP/s over the
// attainable min(peak, intensity × bandwidth).
nlohmann::json roofline_entry(const Agg& a, double steps, double phase_ns, double bw_gb_s, double peak_gflop_s) {
    const double bytes = double(a.wb + a.ab), ns = double(a.ns);
    const double intensity = safe_div(double(a.flops), bytes);
    const double gflop_s = safe_div(double(a.flops), ns), gb_s = safe_div(bytes, ns);
    const double attainable = std::min(peak_gflop_s, intensity * bw_gb_s);
    const double ridge = safe_div(peak_gflop_s, bw_gb_s);
    return {{"count", double(a.count) / steps},
            {"ms", ns / steps / 1e6},
            {"share", safe_div(ns, phase_ns)},
            {"weight_bytes", double(a.wb) / steps},
            {"act_bytes", double(a.ab) / steps},
            {"flops", double(a.flops) / steps},
            {"gb_s", gb_s},
            {"gflop_s", gflop_s},
            {"intensity", intensity},
            {"bound", intensity < ridge ? "memory" : "compute"},
            {"roof_pct", 100.0 * safe_div(gflop_s, attainable)},
            {"bandwidth_pct", 100.0 * safe_div(gb_s, bw_gb_s)}};
}

nlohmann::json phase_record(const std::vector<core::StepProfile>& steps, double bw_gb_s, double peak_gflop_s) {
    std::map<std::string, Agg> by_op;
    std::map<int, Agg> by_layer;
    Agg all;
    uint64_t graph_ns = 0, step_ns = 0, tokens = 0;
    nlohmann::json samples = nlohmann::json::array();
    for (auto& s : steps) {
        uint64_t node_ns = 0;
        for (auto& n : s.nodes) {
            by_op[core::op_name(n.op)].add(n);
            by_layer[core::layer_of(n.name)].add(n);
            all.add(n);
            node_ns += n.ns;
        }
        graph_ns += s.graph_ns, step_ns += s.step_ns, tokens += s.n_tokens;
        samples.push_back({{"tokens", s.n_tokens}, {"n_kv", s.n_kv}, {"node_ms", double(node_ns) / 1e6},
                           {"graph_ms", double(s.graph_ns) / 1e6}, {"step_ms", double(s.step_ns) / 1e6}});
    }
    const double n = double(std::max<size_t>(steps.size(), 1));
    nlohmann::json ops = nlohmann::json::array(), layers = nlohmann::json::array();
    for (auto& [name, a] : by_op) {
        auto e = roofline_entry(a, n, double(all.ns), bw_gb_s, peak_gflop_s);
        e["op"] = name;
        ops.push_back(std::move(e));
    }
    std::sort(ops.begin(), ops.end(), [](auto& x, auto& y) { return x["ms"].template get<double>() > y["ms"].template get<double>(); });
    for (auto& [layer, a] : by_layer) {
        auto e = roofline_entry(a, n, double(all.ns), bw_gb_s, peak_gflop_s);
        e["layer"] = layer;  // -1: outside the blocks (embedding, output norm and head)
        layers.push_back(std::move(e));
    }
    // The whole step against the bandwidth ceiling: all bytes it moves over the wall time of the step.
    const double bytes = double(all.wb + all.ab);
    nlohmann::json j = {{"steps", steps.size()},
                        {"tokens_per_step", double(tokens) / n},
                        {"step_ms", double(step_ns) / n / 1e6},
                        {"graph_ms", double(graph_ns) / n / 1e6},
                        {"node_ms", double(all.ns) / n / 1e6},
                        {"weight_bytes_per_step", double(all.wb) / n},
                        {"act_bytes_per_step", double(all.ab) / n},
                        {"flops_per_step", double(all.flops) / n},
                        {"achieved_gb_s", safe_div(bytes, double(step_ns))},
                        {"achieved_gflop_s", safe_div(double(all.flops), double(step_ns))},
                        {"intensity", safe_div(double(all.flops), bytes)},
                        {"bound", safe_div(double(all.flops), bytes) < safe_div(peak_gflop_s, bw_gb_s) ? "memory" : "compute"},
                        {"bandwidth_ceiling_pct", 100.0 * safe_div(safe_div(bytes, double(step_ns)), bw_gb_s)},
                        // Tokens per second if every byte of the step moved at the measured bandwidth.
                        {"ceiling_tok_s", safe_div(bw_gb_s * 1e9, bytes / n) * double(tokens) / n},
                        {"ops", ops},
                        {"layers", layers},
                        {"samples", samples}};
    return j;
}

std::vector<int> parse_int_list(const std::string& s, const char* flag) {
    std::vector<int> out;
    size_t start = 0;
    while (start <= s.size() && !s.empty()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        try {
            size_t used = 0;
            int v = std::stoi(s.substr(start, end - start), &used);
            if (used != end - start || v < 1) throw std::invalid_argument("x");
            out.push_back(v);
        } catch (const std::exception&) {
            throw core::Error(core::ErrorKind::USAGE, std::string(flag) + ": '" + s + "' is not a list of positive integers");
        }
        start = end + 1;
    }
    return out;
}

int32_t argmax(const std::vector<float>& v, size_t off, size_t n) {
    return int32_t(std::max_element(v.begin() + long(off), v.begin() + long(off + n)) - v.begin() - long(off));
}

void print_phase(const char* title, const nlohmann::json& p) {
    fmt::print("\n{}: {} steps × {:.0f} tokens, step {:.3f} ms (graph {:.3f}, nodes {:.3f}), {:.2f} GB/s = {:.1f}% of "
               "bandwidth, {:.2f} GFLOP/s, intensity {:.2f} flop/B ({}-bound)\n",
               title, p["steps"].get<size_t>(), p["tokens_per_step"].get<double>(), p["step_ms"].get<double>(),
               p["graph_ms"].get<double>(), p["node_ms"].get<double>(), p["achieved_gb_s"].get<double>(),
               p["bandwidth_ceiling_pct"].get<double>(), p["achieved_gflop_s"].get<double>(),
               p["intensity"].get<double>(), p["bound"].get<std::string>());
    fmt::print("  {:<18} {:>9} {:>7} {:>9} {:>10} {:>9} {:>8} {:>8}\n", "op", "ms/step", "share", "GB/s", "GFLOP/s",
               "flop/B", "bound", "% roof");
    for (auto& o : p["ops"])
        fmt::print("  {:<18} {:>9.4f} {:>6.1f}% {:>9.2f} {:>10.2f} {:>9.2f} {:>8} {:>7.1f}%\n", o["op"].get<std::string>(),
                   o["ms"].get<double>(), 100 * o["share"].get<double>(), o["gb_s"].get<double>(),
                   o["gflop_s"].get<double>(), o["intensity"].get<double>(), o["bound"].get<std::string>(),
                   o["roof_pct"].get<double>());
    fmt::print("  per layer (ms/step, share):");
    for (auto& l : p["layers"])
        fmt::print(" {}={:.3f}/{:.0f}%", l["layer"].get<int>() < 0 ? std::string("other") : std::to_string(l["layer"].get<int>()),
                   l["ms"].get<double>(), 100 * l["share"].get<double>());
    fmt::print("\n");
}

}  // namespace

Runner add_profile_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("profile", "Per-op timings measured by the backend, the roofline, and CI gates");
    struct Opts {
        std::string model, contexts, svg;
        int prompt_tokens = 64, gen_tokens = 32, warmup = 1, bw_mib = 256, context_steps = 5;
        bool ci = false, json = false;
        double assert_tps = -1, assert_p99 = -1, assert_rss = -1, max_ratio = 15;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("model", o->model, "Model file")->required();
    cmd->add_option("--prompt-tokens", o->prompt_tokens, "Synthetic prompt length (prefill)")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--gen-tokens", o->gen_tokens, "Decode steps")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--warmup", o->warmup, "Unmeasured warm-up runs")->capture_default_str()->check(CLI::Range(0, 100));
    cmd->add_option("--context", o->contexts, "Contexts for the O(n) check, e.g. 10,100: decode step time ratio last/first");
    cmd->add_option("--context-steps", o->context_steps, "Decode steps timed per context (median)")->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_flag("--ci", o->ci, "CI mode: enforce the gates (O(n) ratio included, default contexts 10,100)");
    cmd->add_option("--assert-throughput", o->assert_tps, "Gate: decode tok/s at least this");
    cmd->add_option("--assert-p99", o->assert_p99, "Gate: p99 decode step latency (ms) at most this");
    cmd->add_option("--assert-rss", o->assert_rss, "Gate: peak RSS (MB = 1e6 bytes) at most this");
    cmd->add_option("--max-context-ratio", o->max_ratio, "Gate threshold of the O(n) ratio")->capture_default_str();
    cmd->add_option("--bw-mib", o->bw_mib, "Buffer for the bandwidth measurement (MiB)")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--svg", o->svg, "Write the roofline plot (SVG) to this file");
    cmd->add_flag("--json", o->json, "Print one JSON record");
    return [&g, o]() {
        std::vector<int> contexts = parse_int_list(o->contexts, "--context");
        if (o->ci && contexts.empty()) contexts = {10, 100};
        AppContext ctx(g);
        auto backend = ctx.create_backend();
        if (!backend->can_profile())
            throw core::Error(core::ErrorKind::PLUGIN, "backend '" + backend->plugin().display_name() +
                                                           "' has no graph_profile (per-node timing needs plugin ABI 1.1)");
        core::Model model(ctx.registry(), o->model, backend, ctx.format_options());
        const auto V = size_t(model.hparams().n_vocab);
        const uint32_t P = uint32_t(o->prompt_tokens), N = uint32_t(o->gen_tokens);
        const int max_ctx = contexts.empty() ? 0 : *std::max_element(contexts.begin(), contexts.end());
        core::SessionOptions so;
        so.n_ctx = std::max<uint32_t>(P + N + 1, uint32_t(max_ctx + o->context_steps + 1));
        so.kv_options = ctx.kv_options();
        core::Session session(model, ctx.kv_plugin(), so);
        if (model.hparams().n_ctx_train > 0 && so.n_ctx > uint32_t(model.hparams().n_ctx_train))
            throw core::Error(core::ErrorKind::USAGE, fmt::format("{} tokens exceed the model's context of {}", so.n_ctx,
                                                                  model.hparams().n_ctx_train));
        // Synthetic prompt of exactly P tokens (deterministic, spread over the vocabulary).
        std::vector<int32_t> prompt(P);
        for (uint32_t i = 0; i < P; ++i) prompt[i] = int32_t((uint64_t(i) * 7919 + 13) % V);

        // One run: prefill, then N greedy decode steps; returns per-step decode ms and the prefill ms.
        auto run_once = [&](std::vector<double>* decode_ms, double* prefill_ms) {
            session.reset();
            auto t0 = Clock::now();
            int32_t tok = argmax(session.forward(prompt), 0, V);
            if (prefill_ms) *prefill_ms = ms_since(t0);
            for (uint32_t i = 0; i < N; ++i) {
                auto t1 = Clock::now();
                tok = argmax(session.forward(std::span<const int32_t>(&tok, 1)), 0, V);
                if (decode_ms) decode_ms->push_back(ms_since(t1));
            }
        };
        for (int w = 0; w < o->warmup; ++w) run_once(nullptr, nullptr);
        // Timing pass (unprofiled): throughput and latency.
        std::vector<double> decode_ms;
        double prefill_ms = 0;
        run_once(&decode_ms, &prefill_ms);
        double decode_total = 0;
        for (double d : decode_ms) decode_total += d;
        const double decode_tok_s = safe_div(N, decode_total / 1e3), prefill_tok_s = safe_div(P, prefill_ms / 1e3);
        const auto lat = core::summarize(decode_ms);
        // Profiled pass: split the steps into prefill (the prompt's) and decode.
        session.clear_profiles();
        session.set_profiling(true);
        session.reset();
        int32_t tok = argmax(session.forward(prompt), 0, V);
        const size_t n_prefill_steps = session.profiles().size();
        for (uint32_t i = 0; i < N; ++i) tok = argmax(session.forward(std::span<const int32_t>(&tok, 1)), 0, V);
        session.set_profiling(false);
        std::vector<core::StepProfile> prefill_steps(session.profiles().begin(), session.profiles().begin() + long(n_prefill_steps));
        std::vector<core::StepProfile> decode_steps(session.profiles().begin() + long(n_prefill_steps), session.profiles().end());
        session.clear_profiles();

        // O(n) check: median decode step time after filling the cache to each context.
        nlohmann::json context_json = nullptr;
        double ratio = 0;
        if (!contexts.empty()) {
            const auto cost = core::measure_context_cost(session, contexts, o->context_steps);
            ratio = cost.ratio;
            context_json = {{"contexts", contexts}, {"step_ms", cost.step_ms}, {"ratio", ratio}, {"threshold", o->max_ratio}};
        }

        // The machine's roofline, measured now (other tenants change it).
        const int threads = g.threads > 0 ? g.threads : int(std::max(1u, std::thread::hardware_concurrency()));
        const auto bw = core::measure_read_bandwidth(threads, uint64_t(o->bw_mib) << 20, 5);
        const auto peak = core::measure_compute_peak(threads);
        const double bw_gb_s = bw.best_gb_s, peak_gflop_s = peak.best_gflop_s;
        nlohmann::json prefill = phase_record(prefill_steps, bw_gb_s, peak_gflop_s);
        nlohmann::json decode = phase_record(decode_steps, bw_gb_s, peak_gflop_s);

        // Gates.
        nlohmann::json gates = nlohmann::json::array();
        bool pass = true;
        auto gate = [&](const char* name, const char* id, double value, const char* op, double threshold, bool ok) {
            gates.push_back({{"gate", name}, {"id", id}, {"value", value}, {"op", op}, {"threshold", threshold}, {"pass", ok}});
            pass = pass && ok;
        };
        const double rss_mb = double(core::peak_rss_bytes()) / 1e6;
        if (o->assert_tps >= 0) gate("decode_tok_s", "F-PERF-004", decode_tok_s, ">=", o->assert_tps, decode_tok_s >= o->assert_tps);
        if (o->assert_p99 >= 0) gate("decode_p99_ms", "F-PERF-004", lat.p99, "<=", o->assert_p99, lat.p99 <= o->assert_p99);
        if (o->assert_rss >= 0) gate("peak_rss_mb", "F-PERF-004", rss_mb, "<=", o->assert_rss, rss_mb <= o->assert_rss);
        if (o->ci && contexts.size() >= 2) gate("context_ratio", "F-PERF-001", ratio, "<", o->max_ratio, ratio < o->max_ratio);

        if (!o->svg.empty()) {
            std::vector<RooflinePoint> pts;
            for (auto* ph : {&decode, &prefill})
                for (auto& op : (*ph)["ops"])
                    if (op["flops"].get<double>() > 0 && op["ms"].get<double>() > 0)
                        pts.push_back({op["op"].get<std::string>(), ph == &decode ? "decode" : "prefill",
                                       op["intensity"].get<double>(), op["gflop_s"].get<double>()});
            std::ofstream f(o->svg);
            f << roofline_svg(bw_gb_s, peak_gflop_s, pts, model.hparams().arch + " on " + backend->device().name);
            if (!f) throw core::Error(core::ErrorKind::USAGE, "cannot write " + o->svg);
        }

        nlohmann::json j = {
            {"command", "profile"},
            {"environment", environment_record(g, model, session, o->model)},
            {"memory", memory_record(model)},
            {"config", {{"prompt_tokens", P}, {"gen_tokens", N}, {"warmup", o->warmup}, {"ci", o->ci}}},
            {"machine",
             {{"bandwidth_gb_s", bw_gb_s}, {"bandwidth_median_gb_s", bw.median_gb_s}, {"bandwidth_samples_gb_s", bw.samples_gb_s},
              {"bandwidth_buffer_bytes", bw.bytes}, {"peak_gflop_s", peak_gflop_s}, {"peak_median_gflop_s", peak.median_gflop_s},
              {"peak_samples_gflop_s", peak.samples_gflop_s}, {"peak_isa", peak.isa}, {"threads", threads},
              {"ridge_flop_per_byte", safe_div(peak_gflop_s, bw_gb_s)}}},
            {"throughput",
             {{"prefill_ms", prefill_ms}, {"prefill_tok_s", prefill_tok_s}, {"decode_tok_s", decode_tok_s},
              {"decode_ms_samples", decode_ms},
              {"decode_ms", {{"mean", lat.mean}, {"median", lat.median}, {"min", lat.min}, {"max", lat.max},
                             {"p50", lat.p50}, {"p95", lat.p95}, {"p99", lat.p99}, {"cv_pct", lat.cv_pct}}}}},
            {"phases", {{"prefill", prefill}, {"decode", decode}}},
            {"context", context_json},
            {"gates", gates},
            {"pass", pass}};
        if (o->json) {
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print("{} on {} — roofline: {:.2f} GB/s read bandwidth, {:.1f} GFLOP/s {} peak ({} threads), ridge {:.2f} flop/B\n",
                       o->model, backend->device().name, bw_gb_s, peak_gflop_s, peak.isa, threads,
                       safe_div(peak_gflop_s, bw_gb_s));
            fmt::print("throughput (unprofiled): prefill {} tokens {:.1f} tok/s, decode {} tokens {:.1f} tok/s, step p50 "
                       "{:.3f} ms p99 {:.3f} ms\n", P, prefill_tok_s, N, decode_tok_s, lat.p50, lat.p99);
            print_phase("prefill", prefill);
            print_phase("decode", decode);
            fmt::print("decode ceiling at this bandwidth: {:.1f} tok/s\n", decode["ceiling_tok_s"].get<double>());
            if (!context_json.is_null())
                fmt::print("\nO(n) check: decode step {:.3f} ms at context {} vs {:.3f} ms at {}: ratio {:.2f}\n",
                           context_json["step_ms"].back().get<double>(), contexts.back(),
                           context_json["step_ms"].front().get<double>(), contexts.front(), ratio);
            for (auto& gt : gates)
                fmt::print("{} {} ({}): {:.3f} {} {:.3f}\n", gt["pass"].get<bool>() ? "PASS" : "FAIL",
                           gt["gate"].get<std::string>(), gt["id"].get<std::string>(), gt["value"].get<double>(),
                           gt["op"].get<std::string>(), gt["threshold"].get<double>());
            if (!o->svg.empty()) fmt::print("roofline plot: {}\n", o->svg);
        }
        std::fflush(stdout);  // the record first, then the gate line on stderr
        for (auto& gt : gates)
            if (!gt["pass"].get<bool>())
                fmt::print(stderr, "aprhost: profile: gate {} ({}) failed: {:g} {} {:g} does not hold\n",
                           gt["gate"].get<std::string>(), gt["id"].get<std::string>(), gt["value"].get<double>(),
                           gt["op"].get<std::string>(), gt["threshold"].get<double>());
        return pass ? 0 : 1;
    };
}

}  // namespace aprhost::cli
