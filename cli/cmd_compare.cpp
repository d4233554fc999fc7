// `aprhost compare --backends cpu,cuda MODEL` (F-PERF-003): the same prompt on each backend, each loading the model
// itself. Correctness against the first backend: per-position logits max-abs difference and cosine similarity over
// the prompt (one batched forward with every position's logits) and over decode, where every backend is fed the
// first backend's greedy tokens (teacher forcing, so the logits compare the same inputs) and greedy agreement
// counts the positions where its own argmax picks the same token. Speed: prefill and decode tok/s with speedup
// ratios. Backends that are not available are listed as SKIPPED with the registry's reason.
// `--assert-speedup X` exits 1 unless the second backend decodes at least X times as fast as the first.
#include "commands.hpp"
#include "tool_env.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/session.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

namespace aprhost::cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

int32_t argmax(const float* v, size_t n) { return int32_t(std::max_element(v, v + n) - v); }

struct RunResult {
    std::string name, device;
    std::string status = "ok", reason;
    double prefill_ms = 0, decode_ms = 0;
    std::vector<float> prompt_logits;  // [P][V]
    std::vector<float> decode_logits;  // [N][V], step i fed tokens[i]
    std::vector<int32_t> tokens;       // the first backend: its greedy tokens; others: their own argmax per step
    nlohmann::json env;
};

// Row-wise max |a - b| and cosine(a, b) of [rows][V] matrices.
nlohmann::json logits_diff(const std::vector<float>& a, const std::vector<float>& b, size_t V) {
    const size_t rows = std::min(a.size(), b.size()) / V;
    std::vector<double> max_abs(rows), cosine(rows);
    double worst = 0, min_cos = 1;
    for (size_t r = 0; r < rows; ++r) {
        double m = 0, dot = 0, na = 0, nb = 0;
        for (size_t i = 0; i < V; ++i) {
            const double x = a[r * V + i], y = b[r * V + i];
            m = std::max(m, std::fabs(x - y));
            dot += x * y, na += x * x, nb += y * y;
        }
        max_abs[r] = m;
        cosine[r] = (na > 0 && nb > 0) ? dot / std::sqrt(na * nb) : (na == nb ? 1.0 : 0.0);
        worst = std::max(worst, m);
        min_cos = std::min(min_cos, cosine[r]);
    }
    return {{"positions", rows}, {"max_abs", worst}, {"min_cosine", rows ? min_cos : 0.0},
            {"per_position_max_abs", max_abs}, {"per_position_cosine", cosine}};
}

}  // namespace

Runner add_compare_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("compare", "Same prompt on several backends: logits parity, greedy agreement, speed");
    struct Opts {
        std::string model, backends, prompt = "The capital of France is Paris. The capital of Germany is";
        int n = 16, warmup = 1;
        double assert_speedup = -1;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("model", o->model, "Model file")->required();
    cmd->add_option("--backends", o->backends, "Comma-separated backends; the first is the reference (cpu, cpu-scalar, vulkan, cuda)")->required();
    cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->capture_default_str();
    cmd->add_option("-n,--n-predict", o->n, "Greedy decode steps")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--warmup", o->warmup, "Unmeasured warm-up runs per backend")->capture_default_str()->check(CLI::Range(0, 100));
    cmd->add_option("--assert-speedup", o->assert_speedup, "Gate: the second backend's decode tok/s ≥ X × the first's");
    cmd->add_flag("--json", o->json, "Print one JSON record");
    return [&g, o]() {
        const std::vector<std::string> names = split_csv(o->backends);
        if (names.empty()) throw core::Error(core::ErrorKind::USAGE, "--backends: give at least one backend");
        AppContext ctx(g);
        std::vector<RunResult> runs;
        runs.reserve(names.size());
        const RunResult* ref = nullptr;
        size_t V = 0;
        for (const auto& name : names) {
            RunResult r;
            r.name = name;
            // Availability: found, accepted and able to create a context. Anything later is a real failure.
            std::shared_ptr<core::BackendContext> backend;
            try {
                auto plugin = ctx.registry().get(APH_PLUGIN_BACKEND, name);
                std::map<std::string, std::string> opts;
                if (g.threads > 0 && plugin->name == "cpu") opts["threads"] = std::to_string(g.threads);
                backend = core::BackendContext::create(plugin, opts);
            } catch (const core::Error& e) {
                r.status = "skipped";
                r.reason = e.what();
                runs.push_back(std::move(r));
                continue;
            }
            core::Model model(ctx.registry(), o->model, backend, ctx.format_options());
            V = size_t(model.hparams().n_vocab);
            r.name = backend->plugin().display_name();
            r.device = backend->device().name;
            const auto ids = model.tokenizer().encode(o->prompt, model.tokenizer().add_bos_default(), false);
            if (ids.empty()) throw core::Error(core::ErrorKind::USAGE, "the prompt encodes to no tokens");
            const size_t N = size_t(o->n);
            core::SessionOptions so;
            so.n_ctx = uint32_t(ids.size() + N + 1);
            so.kv_options = ctx.kv_options();
            core::Session session(model, ctx.kv_plugin(), so);
            for (int w = 0; w < o->warmup; ++w) {
                session.reset();
                int32_t t = argmax(session.forward(ids, true).data() + (ids.size() - 1) * V, V);
                session.forward(std::span<const int32_t>(&t, 1));
            }
            session.reset();
            auto t0 = Clock::now();
            r.prompt_logits = session.forward(ids, true);
            r.prefill_ms = ms_since(t0);
            // Step i feeds the reference's token i (this backend's own greedy choice when it is the reference).
            int32_t next = argmax(r.prompt_logits.data() + (ids.size() - 1) * V, V);
            r.tokens.push_back(next);
            for (size_t i = 0; i < N; ++i) {
                int32_t feed = ref ? ref->tokens[i] : r.tokens[i];
                auto t1 = Clock::now();
                const auto& l = session.forward(std::span<const int32_t>(&feed, 1));
                r.decode_ms += ms_since(t1);
                r.decode_logits.insert(r.decode_logits.end(), l.begin(), l.end());
                r.tokens.push_back(argmax(l.data(), V));
            }
            if (!ref) r.env = environment_record(g, model, session, o->model);
            runs.push_back(std::move(r));
            if (!ref) ref = &runs.back();  // stable: runs is reserved for every name
        }
        if (!ref) throw core::Error(core::ErrorKind::PLUGIN, "no backend of --backends is available: " + runs.front().reason);

        const double P = double(ref->prompt_logits.size() / std::max<size_t>(V, 1)), N = double(o->n);
        auto tok_s = [](double n, double ms) { return ms > 0 ? n / (ms / 1e3) : 0.0; };
        nlohmann::json backends = nlohmann::json::array();
        const RunResult* second = nullptr;
        for (auto& r : runs) {
            nlohmann::json b = {{"backend", r.name}, {"status", r.status}};
            if (r.status != "ok") {
                b["reason"] = r.reason;
                backends.push_back(std::move(b));
                continue;
            }
            if (&r != ref && !second) second = &r;
            const double pf = tok_s(P, r.prefill_ms), dc = tok_s(N, r.decode_ms);
            const double pf_ref = tok_s(P, ref->prefill_ms), dc_ref = tok_s(N, ref->decode_ms);
            size_t agree = 0;
            int first_div = -1;
            for (size_t i = 0; i < ref->tokens.size(); ++i) {
                if (r.tokens[i] == ref->tokens[i]) ++agree;
                else if (first_div < 0) first_div = int(i);
            }
            b.update({{"device", r.device},
                      {"reference", &r == ref},
                      {"prefill_ms", r.prefill_ms},
                      {"decode_ms", r.decode_ms},
                      {"prefill_tok_s", pf},
                      {"decode_tok_s", dc},
                      {"speedup_prefill", pf_ref > 0 ? pf / pf_ref : 0.0},
                      {"speedup_decode", dc_ref > 0 ? dc / dc_ref : 0.0},
                      {"tokens", r.tokens},
                      {"token_agreement", double(agree) / double(ref->tokens.size())},
                      {"first_divergence", first_div},
                      {"prompt_logits", logits_diff(ref->prompt_logits, r.prompt_logits, V)},
                      {"decode_logits", logits_diff(ref->decode_logits, r.decode_logits, V)}});
            backends.push_back(std::move(b));
        }
        nlohmann::json gates = nlohmann::json::array();
        bool pass = true;
        if (o->assert_speedup >= 0) {
            const double a = tok_s(N, ref->decode_ms), b = second ? tok_s(N, second->decode_ms) : 0.0;
            const double speedup = a > 0 ? b / a : 0.0;
            const bool ok = second && speedup >= o->assert_speedup;
            gates.push_back({{"gate", "decode_speedup"}, {"id", "F-PERF-003"}, {"value", speedup}, {"op", ">="},
                             {"threshold", o->assert_speedup}, {"pass", ok},
                             {"detail", second ? second->name + " vs " + ref->name : "no second backend available"}});
            pass = ok;
        }
        nlohmann::json env = ref->env;
        env["backend"] = names;
        nlohmann::json j = {{"command", "compare"},
                            {"environment", env},
                            {"prompt", o->prompt},
                            {"prompt_tokens", size_t(P)},
                            {"n_predict", o->n},
                            {"reference", ref->name},
                            {"decode_mode", "teacher-forced on the reference's greedy tokens"},
                            {"backends", backends},
                            {"gates", gates},
                            {"pass", pass}};
        if (o->json) {
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print("{}: {} prompt tokens, {} decode steps; reference {}\n", o->model, size_t(P), o->n, ref->name);
            fmt::print("{:<14} {:>10} {:>10} {:>8} {:>8} {:>11} {:>9} {:>11} {:>9} {:>7}\n", "backend", "pp tok/s",
                       "tg tok/s", "pp ×", "tg ×", "pp maxabs", "pp cos", "tg maxabs", "tg cos", "agree");
            for (auto& b : backends) {
                if (b["status"] != "ok") {
                    fmt::print("{:<14} SKIPPED: {}\n", b["backend"].get<std::string>(), b["reason"].get<std::string>());
                    continue;
                }
                fmt::print("{:<14} {:>10.1f} {:>10.1f} {:>8.2f} {:>8.2f} {:>11.3g} {:>9.6f} {:>11.3g} {:>9.6f} {:>6.0f}%\n",
                           b["backend"].get<std::string>(), b["prefill_tok_s"].get<double>(),
                           b["decode_tok_s"].get<double>(), b["speedup_prefill"].get<double>(),
                           b["speedup_decode"].get<double>(), b["prompt_logits"]["max_abs"].get<double>(),
                           b["prompt_logits"]["min_cosine"].get<double>(), b["decode_logits"]["max_abs"].get<double>(),
                           b["decode_logits"]["min_cosine"].get<double>(), 100 * b["token_agreement"].get<double>());
            }
            for (auto& gt : gates)
                fmt::print("{} decode speedup ({}): {:.3f} >= {:.3f}\n", gt["pass"].get<bool>() ? "PASS" : "FAIL",
                           gt["detail"].get<std::string>(), gt["value"].get<double>(), gt["threshold"].get<double>());
        }
        std::fflush(stdout);  // the record first, then the gate line on stderr
        for (auto& gt : gates)
            if (!gt["pass"].get<bool>())
                fmt::print(stderr, "aprhost: compare: gate decode_speedup (F-PERF-003) failed: {} ({:g} < {:g})\n",
                           gt["detail"].get<std::string>(), gt["value"].get<double>(), gt["threshold"].get<double>());
        return pass ? 0 : 1;
    };
}

}  // namespace aprhost::cli
