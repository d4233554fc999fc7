// `aprhost cbtop` as people and scripts use it, on the synthetic tiny model: the headless JSON stream (one record
// per second, every documented field with its type), the human line stream, several backends, and an interactive
// session in a real terminal (tmux): the screen shows tok/s and op bars, p pauses, a resize redraws, q quits with
// exit 0 and the terminal back in its normal mode.
#include "test_models.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

struct CliResult {
    int rc;
    std::string out, err;
};

std::string slurp(const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string tag() {
    static int counter = 0;  // unique names: ctest runs test cases in parallel processes
    return std::string(APRHOST_TEST_DATA_DIR) + "/cbtop-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

std::string aprhost_cmd() { return std::string("env -u APRHOST_PLUGIN_PATH ") + APRHOST_BINARY_DIR + "/bin/aprhost "; }

CliResult run_cli(const std::string& args) {
    const std::string t = tag();
    const std::string cmd = aprhost_cmd() + args + " >" + t + ".out 2>" + t + ".err </dev/null";
    const int st = std::system(cmd.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(t + ".out"), slurp(t + ".err")};
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string l; std::getline(ss, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

// The documented record (docs/tools.md, `aprhost cbtop`): JSON pointer → type.
enum class T { NUM, STR, BOOL, ARR, OBJ, NUM_OR_NULL };
const std::vector<std::pair<std::string, T>> kTopFields = {
    {"/record", T::NUM},         {"/t_s", T::NUM},       {"/state", T::STR},     {"/model", T::STR},
    {"/tok_s_instant", T::NUM},  {"/tok_s_avg", T::NUM}, {"/ttft_ms", T::NUM_OR_NULL}, {"/tokens", T::NUM},
    {"/rss_bytes", T::NUM},      {"/peak_rss_bytes", T::NUM}, {"/backends", T::ARR}};
const std::vector<std::pair<std::string, T>> kBackendFields = {
    {"/backend", T::STR}, {"/device", T::STR}, {"/status", T::STR}, {"/reason", T::STR},
    {"/tok_s_instant", T::NUM}, {"/tok_s_avg", T::NUM}, {"/decode_tok_s", T::NUM}, {"/tokens", T::NUM},
    {"/decode_steps", T::NUM}, {"/prompts", T::NUM}, {"/prompt_tokens", T::NUM}, {"/prompt_tokens_cached", T::NUM},
    {"/ttft_ms_last", T::NUM_OR_NULL}, {"/ttft_ms_mean", T::NUM_OR_NULL}, {"/ttft_ms_min", T::NUM_OR_NULL},
    {"/prefill_tok_s", T::NUM}, {"/busy_s", T::NUM},
    {"/profile", T::OBJ}, {"/profile/available", T::BOOL}, {"/profile/interval_s", T::NUM},
    {"/profile/profiled_steps", T::NUM}, {"/profile/averaged_steps", T::NUM},
    {"/profile/profiled_step_ms", T::NUM_OR_NULL}, {"/profile/decode_step_ms", T::NUM_OR_NULL},
    {"/profile/node_ms", T::NUM}, {"/profile/step_ms", T::NUM}, {"/profile/ops", T::ARR}, {"/profile/layers", T::ARR},
    {"/memory/device_bytes", T::NUM}, {"/memory/device_total_bytes", T::NUM}, {"/memory/device_weight_bytes", T::NUM},
    {"/kv/plugin", T::STR}, {"/kv/bytes", T::NUM}, {"/kv/slots_total", T::NUM}, {"/kv/slots_used", T::NUM},
    {"/kv/slots_free", T::NUM}, {"/kv/blocks_total", T::NUM}, {"/kv/blocks_used", T::NUM},
    {"/kv/blocks_free", T::NUM}, {"/kv/evictions", T::NUM},
    {"/speculative/available", T::BOOL}, {"/speculative/drafted", T::NUM}, {"/speculative/accepted", T::NUM},
    {"/speculative/acceptance_rate", T::NUM_OR_NULL}, {"/speculative/note", T::STR}};

bool has_type(const nlohmann::json& v, T t) {
    switch (t) {
        case T::NUM: return v.is_number();
        case T::STR: return v.is_string();
        case T::BOOL: return v.is_boolean();
        case T::ARR: return v.is_array();
        case T::OBJ: return v.is_object();
        case T::NUM_OR_NULL: return v.is_number() || v.is_null();
    }
    return false;
}

void check_fields(const nlohmann::json& j, const std::vector<std::pair<std::string, T>>& fields) {
    for (auto& [ptr, t] : fields) {
        INFO(ptr);
        const nlohmann::json::json_pointer p(ptr);
        REQUIRE(j.contains(p));
        CHECK(has_type(j.at(p), t));
    }
}

}  // namespace

TEST_CASE("cbtop --headless --json streams one record per second with every documented field", "[cbtop][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    const auto r = run_cli("cbtop " + model + " --headless --json --duration 2 -n 16");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() >= 2);
    CHECK(lines.size() == 2);  // exactly one per second of --duration
    for (size_t i = 0; i < lines.size(); ++i) {
        INFO(lines[i]);
        const auto j = nlohmann::json::parse(lines[i]);  // one record per line
        check_fields(j, kTopFields);
        CHECK(j["record"] == i + 1);
        CHECK(j["t_s"].get<double>() >= double(i + 1));  // emitted at t = 1, 2 s
        CHECK(j["state"] == "running");
        CHECK(j["model"] == model);
        CHECK(j["tok_s_avg"].get<double>() > 0);
        CHECK(j["tok_s_instant"].get<double>() > 0);
        CHECK(j["ttft_ms"].get<double>() > 0);
        CHECK(j["rss_bytes"].get<double>() > 0);
        CHECK(j["peak_rss_bytes"].get<double>() >= j["rss_bytes"].get<double>());
        REQUIRE(j["backends"].size() == 1);
        const auto& b = j["backends"][0];
        check_fields(b, kBackendFields);
        CHECK(b["status"] == "running");
        CHECK(b["backend"] == "cpu-avx2");
        CHECK(b["tokens"].get<double>() > 0);
        CHECK(b["prompts"].get<double>() >= 1);
        CHECK(b["kv"]["plugin"] == "contiguous");
        CHECK(b["kv"]["slots_used"].get<double>() > 0);
        CHECK(b["kv"]["slots_used"].get<double>() + b["kv"]["slots_free"].get<double>() == b["kv"]["slots_total"].get<double>());
        CHECK(b["memory"]["device_bytes"].get<double>() > 0);
        CHECK(b["speculative"]["drafted"] == 0);
        CHECK(b["speculative"]["acceptance_rate"].is_null());
        // Per-op time measured on sampled steps: at 1 per second, at most ~1 + t_s profiled steps.
        CHECK(b["profile"]["available"] == true);
        CHECK(b["profile"]["interval_s"] == 1.0);
        CHECK(b["profile"]["profiled_steps"].get<double>() >= 1);
        CHECK(b["profile"]["profiled_steps"].get<double>() <= j["t_s"].get<double>() + 1);
        CHECK(b["profile"]["profiled_steps"].get<double>() < b["decode_steps"].get<double>());
        REQUIRE(!b["profile"]["ops"].empty());
        double share = 0;
        bool mul_mat = false;
        for (auto& o : b["profile"]["ops"]) {
            CHECK(o["op"].is_string());
            CHECK(o["ms"].get<double>() >= 0);
            share += o["share"].get<double>();
            mul_mat = mul_mat || o["op"] == "mul_mat";
        }
        CHECK(mul_mat);
        CHECK(share == Approx(1.0));
        CHECK(b["profile"]["layers"].size() >= 2);
    }
}

TEST_CASE("cbtop --headless prints one human line per second", "[cbtop][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    const auto r = run_cli("cbtop " + model + " --headless --duration 1 -n 8");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("t=1.0s | cpu-avx2 ", 0) == 0);
    CHECK(lines[0].find("tok/s") != std::string::npos);
    CHECK(lines[0].find("spec n/a") != std::string::npos);
    CHECK(r.err.find("generated") != std::string::npos);  // the closing summary
}

TEST_CASE("cbtop --backends: a row per backend, unavailable ones with the reason", "[cbtop][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    const auto r = run_cli("cbtop " + model + " --backends cpu,cpu-scalar,nosuch --json --duration 1 -n 8 --kv paged");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);
    const auto j = nlohmann::json::parse(lines[0]);
    REQUIRE(j["backends"].size() == 3);
    CHECK(j["backends"][0]["backend"] == "cpu-avx2");
    CHECK(j["backends"][1]["backend"] == "cpu-scalar");
    for (int i = 0; i < 2; ++i) {
        const auto& b = j["backends"][i];
        check_fields(b, kBackendFields);
        CHECK(b["status"] == "running");
        CHECK(b["tokens"].get<double>() > 0);  // both generate, taking turns
        CHECK(b["kv"]["plugin"] == "paged");
        CHECK(b["kv"]["blocks_used"].get<double>() >= 1);
    }
    const auto& u = j["backends"][2];
    check_fields(u, kBackendFields);
    CHECK(u["status"] == "unavailable");
    CHECK(u["reason"].get<std::string>().find("nosuch") != std::string::npos);
}

TEST_CASE("cbtop --min-tps: an impossible throughput floor exits 1, a reachable one 0", "[cbtop][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    const auto fail = run_cli("cbtop " + model + " --json --duration 1 -n 8 --min-tps 1e9");
    CHECK(fail.rc == 1);
    CHECK(lines_of(fail.out).size() == 1);  // the stream is complete all the same
    CHECK(fail.err.find("gate F-PERF-007 failed") != std::string::npos);
    const auto pass = run_cli("cbtop " + model + " --json --duration 1 -n 8 --min-tps 0.001");
    INFO(pass.err);
    CHECK(pass.rc == 0);
}

TEST_CASE("cbtop refuses to draw without a terminal and names --headless", "[cbtop][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    const auto r = run_cli("cbtop " + model + " --duration 1");
    CHECK(r.rc == 1);
    CHECK(r.err.find("--headless") != std::string::npos);
}

// ------------------------------------------------------------------------------------------------------- tmux

namespace {

std::string shell_out(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

// A private tmux server (its own socket), killed whatever happens to the test.
struct Tmux {
    std::string socket = "aprhost-cbtop-test-" + std::to_string(getpid());
    std::string cmd(const std::string& args) const { return "tmux -L " + socket + " -f /dev/null " + args; }
    std::string capture() const { return shell_out(cmd("capture-pane -p -t cbtop 2>/dev/null")); }
    int run(const std::string& args) const { return std::system(cmd(args).c_str()); }
    void send(const std::string& keys) const { (void)run("send-keys -t cbtop " + keys); }
    ~Tmux() { (void)run("kill-server >/dev/null 2>&1"); }
};

// Polls the screen until pred holds (the machine may be busy: generous limit, but it returns as soon as it holds).
template <class Pred>
std::string wait_screen(const Tmux& t, Pred pred, double limit_s = 30) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string screen;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < limit_s) {
        screen = t.capture();
        if (pred(screen)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return screen;
}

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// Starts `aprhost cbtop` on the tiny model in a 120x40 tmux window. After cbtop exits, the pane's shell writes its
// exit code and the terminal modes (stty -a) to the returned file, atomically, and stays open.
std::string start_cbtop(const Tmux& tmux) {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    const std::string t = tag(), done = t + ".done", script = t + ".sh";
    {
        std::ofstream s(script);
        s << aprhost_cmd() << "cbtop " << model << " -n 16 --refresh-ms 100 2>" << done << ".err\n"
          << "echo rc=$? > " << done << ".tmp\nstty -a >> " << done << ".tmp\nmv " << done << ".tmp " << done
          << "\nsleep 60\n";
    }
    // bash: when its child handles SIGINT and exits normally, it carries on (dash would die with it).
    REQUIRE(tmux.run("new-session -d -s cbtop -x 120 -y 40 'bash " + script + "'") == 0);
    return done;
}

// cbtop exited 0 and gave the terminal back.
void check_clean_exit(const Tmux& tmux, const std::string& done) {
    const auto t0 = std::chrono::steady_clock::now();
    while (!std::filesystem::exists(done) &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(std::filesystem::exists(done));
    const std::string status = slurp(done);
    INFO(status << slurp(done + ".err"));
    CHECK(status.rfind("rc=0", 0) == 0);
    // endwin restored the line discipline: canonical mode and echo are back on.
    CHECK(contains(status, " icanon"));
    CHECK_FALSE(contains(status, "-icanon"));
    CHECK(contains(status, " echo "));
    CHECK_FALSE(contains(status, "-echo "));
    // ... and the alternate screen is gone: the monitor's key help is no longer on the pane.
    CHECK_FALSE(contains(tmux.capture(), "[q] quit"));
}

}  // namespace

TEST_CASE("cbtop in a real terminal: tok/s and op bars, pause, resize, q restores the terminal", "[cbtop][cli][tmux]") {
    if (std::system("command -v tmux >/dev/null 2>&1") != 0) {
        WARN("SKIPPED: tmux is not installed, the interactive cbtop test cannot drive a terminal");
        return;
    }
    Tmux tmux;
    const std::string done = start_cbtop(tmux);

    auto screen = wait_screen(tmux, [](const std::string& s) {
        return contains(s, "tok/s") && contains(s, "  mul_mat") && contains(s, "##") && contains(s, "[q] quit");
    });
    INFO(screen);
    CHECK(contains(screen, "aprhost cbtop"));
    CHECK(contains(screen, "Throughput  now "));
    CHECK(contains(screen, "TTFT        last "));
    CHECK(contains(screen, "MEASURED by the backend (graph_profile)"));
    CHECK(contains(screen, "  mul_mat"));
    CHECK(contains(screen, "##"));
    CHECK(contains(screen, "acceptance n/a (no speculative decoding in this build)"));
    CHECK(contains(screen, "KV cache    contiguous"));
    CHECK(contains(screen, "[q] quit"));

    tmux.send("p");
    screen = wait_screen(tmux, [](const std::string& s) { return contains(s, "PAUSED"); }, 10);
    CHECK(contains(screen, "PAUSED"));
    tmux.send("p");
    screen = wait_screen(tmux, [](const std::string& s) { return contains(s, "| running |"); }, 10);
    CHECK(contains(screen, "| running |"));

    // A smaller window: the screen is laid out again for 80 columns, the key help on its last row.
    CHECK(tmux.run("resize-window -t cbtop -x 80 -y 24") == 0);
    screen = wait_screen(tmux, [](const std::string& s) {
        auto ls = lines_of(s);
        return !ls.empty() && contains(ls.back(), "[q] quit") && std::count(s.begin(), s.end(), '\n') <= 24;
    }, 10);
    {
        INFO(screen);
        const auto ls = lines_of(screen);
        REQUIRE(!ls.empty());
        CHECK(contains(ls.back(), "[q] quit"));
        for (auto& l : ls) CHECK(l.size() <= 80);
    }

    tmux.send("q");
    check_clean_exit(tmux, done);
}

TEST_CASE("cbtop in a real terminal: Ctrl-C stops it cleanly too", "[cbtop][cli][tmux]") {
    if (std::system("command -v tmux >/dev/null 2>&1") != 0) {
        WARN("SKIPPED: tmux is not installed, the interactive cbtop test cannot drive a terminal");
        return;
    }
    Tmux tmux;
    const std::string done = start_cbtop(tmux);
    auto screen = wait_screen(tmux, [](const std::string& s) { return contains(s, "tok/s") && contains(s, "[q] quit"); });
    INFO(screen);
    REQUIRE(contains(screen, "[q] quit"));
    tmux.send("C-c");
    check_clean_exit(tmux, done);
}
