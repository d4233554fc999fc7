// `aprhost cbtop MODEL` (F-PERF-007): a live terminal monitor while the model generates continuously — tok/s
// (instant and average), real TTFT, per-op and per-layer time measured by the backend on sampled decode steps,
// memory (RSS, device, KV slots and blocks), speculative-decoding counters, one row per backend. `--headless`
// prints one line (or with --json one JSON record) per second instead, for CI and scripts.
// The pieces: cbtop_metrics (numbers), cbtop_driver (generation on a worker thread), cbtop_view (ncurses),
// cbtop_record (headless output). This file parses options and runs the loop of keys, frames and signals.
#include "cbtop_driver.hpp"
#include "cbtop_record.hpp"
#include "cbtop_view.hpp"
#include "commands.hpp"

#include <aprhost/core/error.hpp>

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <unistd.h>

namespace aprhost::cli {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
void cbtop_on_signal(int) { g_stop_signal = 1; }

// SIGINT/SIGTERM stop the monitor cleanly (the loop notices, the terminal is restored, exit 0); the previous
// handlers come back when the command ends.
class SignalGuard {
public:
    SignalGuard() {
        g_stop_signal = 0;
        struct sigaction sa {};
        sa.sa_handler = cbtop_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~SignalGuard() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;

private:
    struct sigaction old_int_ {}, old_term_ {};
};

struct CbtopOptions {
    std::string model;
    std::string prompt = "Write a short story about a robot who learns to paint.";
    std::string backends;
    bool chat = false, ignore_eos = false, headless = false, json = false;
    int n_predict = 128;
    double duration = 0;
    double profile_every = 1.0;
    double window = 1.0;
    double min_tps = -1;
    int refresh_ms = 250;
    float temperature = 0.8f;
    int top_k = 40;
    float top_p = 0.95f, min_p = 0.05f;
    uint64_t seed = 42;
};

// Headless: a record at t = 1, 2, ... seconds (exactly one per second, whatever the step length: the driver runs on
// its own thread) until --duration or a signal.
void run_headless(cbtop::Driver& driver, const CbtopOptions& o) {
    for (uint64_t seq = 1;; ++seq) {
        const double at = double(seq);
        if (o.duration > 0 && at > o.duration + 1e-9) break;
        while (!g_stop_signal && driver.now_s() < at)
            std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.02, at - driver.now_s())));
        if (g_stop_signal) return;
        const auto f = driver.frame(seq);
        if (o.json)
            fmt::print("{}\n", cbtop::frame_json(f).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        else
            fmt::print("{}\n", cbtop::frame_line(f));
        std::fflush(stdout);
    }
    while (!g_stop_signal && driver.now_s() < o.duration) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void run_interactive(cbtop::Driver& driver, const CbtopOptions& o) {
    cbtop::Terminal term;  // endwin on every way out of this function
    cbtop::ViewState st;
    st.duration_s = o.duration;
    double next_draw = 0;
    uint64_t seq = 0;
    while (!g_stop_signal) {
        const int key = term.poll_key(50);
        bool redraw = false;
        if (key == 'q' || key == 'Q') break;
        if (key == 'p' || key == 'P' || key == ' ') driver.set_paused(!driver.paused()), redraw = true;
        if ((key == 'b' || key == 'B' || key == '\t') && driver.backend_count() > 0)
            st.selected = (st.selected + 1) % driver.backend_count(), redraw = true;
        if (key == cbtop::Terminal::kResize) redraw = true;
        const double now = driver.now_s();
        if (o.duration > 0 && now >= o.duration) break;
        if (redraw || now >= next_draw) {
            term.draw(cbtop::layout_screen(driver.frame(++seq), st, term.cols(), term.rows()));
            next_draw = now + o.refresh_ms / 1e3;
        }
    }
    term.restore();
}

}  // namespace

Runner add_cbtop_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("cbtop", "Live monitor while generating: tok/s, TTFT, measured per-op time, memory, KV");
    auto o = std::make_shared<CbtopOptions>();
    cmd->add_option("model", o->model, "Model file")->required();
    cmd->add_option("-p,--prompt", o->prompt, "Prompt (generation restarts from it every -n tokens)")->capture_default_str();
    cmd->add_flag("--chat", o->chat, "Wrap the prompt in the model's chat template as a user message");
    cmd->add_option("-n,--n-predict", o->n_predict, "Tokens per generation before the prompt restarts")
        ->capture_default_str()->check(CLI::Range(1, 1 << 24));
    cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating after end-of-generation tokens (else restart there)");
    cmd->add_option("--backends", o->backends, "Comma-separated backends monitored side by side (default: --backend)");
    cmd->add_option("--duration", o->duration, "Stop after this many seconds (default: until q or Ctrl-C)")
        ->check(CLI::Range(0.0, 1e9));
    cmd->add_flag("--headless", o->headless, "No terminal UI: one line per second on stdout");
    cmd->add_flag("--json", o->json, "With --headless (implied): one JSON record per second, one per line");
    cmd->add_option("--profile-every", o->profile_every,
                    "Seconds between decode steps timed per node by the backend (0 = never)")
        ->capture_default_str()->check(CLI::Range(0.0, 1e6));
    cmd->add_option("--window", o->window, "Seconds of the instant tok/s window")->capture_default_str()->check(CLI::Range(0.05, 3600.0));
    cmd->add_option("--min-tps", o->min_tps,
                    "Gate (F-PERF-007): exit 1 unless the first backend's average tok/s at the end is at least this")
        ->check(CLI::Range(0.0, 1e12));
    cmd->add_option("--refresh-ms", o->refresh_ms, "Screen refresh period")->capture_default_str()->check(CLI::Range(20, 10000));
    cmd->add_option("--temp", o->temperature, "Temperature (0 = greedy)")->capture_default_str()->check(CLI::Range(0.0f, 100.0f));
    cmd->add_option("--top-k", o->top_k, "Top-k (0 = off)")->capture_default_str()->check(CLI::Range(0, 1 << 30));
    cmd->add_option("--top-p", o->top_p, "Top-p (1 = off)")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
    cmd->add_option("--min-p", o->min_p, "Min-p (0 = off)")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
    cmd->add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
    return [&g, o]() {
        if (o->json) o->headless = true;
        if (!o->headless && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)))
            throw core::Error(core::ErrorKind::USAGE, "cbtop needs a terminal; use --headless [--json] for a stream of records");
        SignalGuard signals;
        AppContext ctx(g);
        cbtop::DriverOptions d;
        d.model_path = o->model;
        d.prompt = o->prompt;
        d.chat = o->chat;
        d.n_predict = uint32_t(o->n_predict);
        d.ignore_eos = o->ignore_eos;
        d.sampler.temperature = o->temperature;
        d.sampler.top_k = o->top_k;
        d.sampler.top_p = o->top_p;
        d.sampler.min_p = o->min_p;
        d.sampler.seed = o->seed;
        d.metrics.window_s = o->window;
        d.metrics.profile_interval_s = o->profile_every;
        cbtop::Driver driver(ctx, g, d, split_csv(o->backends));
        for (const auto& line : driver.describe())
            fmt::print(stderr, "cbtop: {}\n", line);
        if (g_stop_signal) return 0;
        driver.start();
        if (o->headless) run_headless(driver, *o);
        else run_interactive(driver, *o);
        driver.stop();

        // A closing summary (after the screen is restored) and the primary backend's failure, if any.
        const auto f = driver.frame(0);
        int rc = 0;
        for (const auto& b : f.backends) {
            if (b.status == "unavailable") continue;
            if (!o->json)
                fmt::print(stderr, "cbtop: {} generated {} tokens in {} prompts over {:.1f} s busy: avg {:.1f} tok/s, "
                                   "decode {:.1f} tok/s, TTFT mean {}\n",
                           b.backend, b.tokens_total, b.prompts, b.busy_s, b.tok_s_avg, b.decode_tok_s,
                           b.ttft_ms_mean ? fmt::format("{:.1f} ms", *b.ttft_ms_mean) : "n/a");
            if (b.status == "failed") {
                fmt::print(stderr, "aprhost: error: cbtop: backend {} failed: {}\n", b.backend, b.reason);
                if (&b == &f.backends.front()) rc = 3;
            }
        }
        if (rc == 0 && o->min_tps >= 0) {
            const double avg = f.backends.empty() ? 0.0 : f.backends.front().tok_s_avg;
            if (!(avg >= o->min_tps)) {
                fmt::print(stderr, "aprhost: cbtop: gate F-PERF-007 failed: {} averaged {:.2f} tok/s < --min-tps {:g}\n",
                           f.backends.empty() ? "no backend" : f.backends.front().backend, avg, o->min_tps);
                rc = 1;
            }
        }
        return rc;
    };
}

}  // namespace aprhost::cli
