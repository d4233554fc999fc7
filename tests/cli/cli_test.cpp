// Runs the real aprhost binary as a user would and checks exit codes (0 ok, 1 usage, 2 bad input file,
// 3 plugin/backend problem, 4 resource exhausted), one-line errors and JSON output.
#include "test_models.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
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

CliResult run_cli(const std::string& args) {
    const std::string dir = APRHOST_TEST_DATA_DIR;
    // Unique names: ctest runs the cases of this file in parallel processes.
    static int counter = 0;
    const std::string tag = std::to_string(getpid()) + "-" + std::to_string(counter++);
    const std::string out = dir + "/cli-" + tag + ".out", err = dir + "/cli-" + tag + ".err";
    std::string cmd = std::string("env -u APRHOST_PLUGIN_PATH ") + APRHOST_BINARY_DIR + "/bin/aprhost " + args +
                      " >" + out + " 2>" + err + " </dev/null";
    int st = std::system(cmd.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
}

// Every error is exactly one line starting with "aprhost: error:".
void check_one_line_error(const CliResult& r) {
    INFO("stderr: " << r.err);
    CHECK(r.err.rfind("aprhost: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("plugins --json lists the built plugins", "[cli]") {
    auto r = run_cli("plugins --json");
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    int selected = 0;
    for (auto& p : j["plugins"]) selected += p["status"] == "selected";
    CHECK(selected >= 3);
}

TEST_CASE("usage errors exit 1", "[cli]") {
    auto r = run_cli("run");
    CHECK(r.rc == 1);
    check_one_line_error(r);
    r = run_cli("run model.gguf -p hi --top-p 7");
    CHECK(r.rc == 1);
    r = run_cli("frobnicate");
    CHECK(r.rc == 1);
}

TEST_CASE("bad model files exit 2", "[cli]") {
    auto r = run_cli("run /nonexistent.gguf -p hi");
    CHECK(r.rc == 2);
    check_one_line_error(r);
    std::string junk = std::string(APRHOST_TEST_DATA_DIR) + "/junk-" + std::to_string(getpid()) + ".gguf";
    { std::ofstream(junk) << "GGUF\x03"; }
    r = run_cli("inspect " + junk);
    CHECK(r.rc == 2);
    check_one_line_error(r);
}

TEST_CASE("unknown backend exits 3", "[cli]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("--backend nosuch run " + model + " -p hi");
    CHECK(r.rc == 3);
    check_one_line_error(r);
    CHECK(r.err.find("available: cpu") != std::string::npos);
}

TEST_CASE("a prompt that does not fit the context exits 4", "[cli]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("run " + model + " -p 'one two three four five six seven' --ctx 3");
    CHECK(r.rc == 4);
    check_one_line_error(r);
}

TEST_CASE("run --json on a synthetic model", "[cli]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("run " + model + " -p 'hello world' -n 8 --greedy --ignore-eos --json");
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["generated_tokens"] == 8);
    CHECK(j["prompt_tokens"].get<int>() > 0);
    CHECK(j["ttft_ms"].get<double>() > 0);
    CHECK(j["decode_tok_s"].get<double>() > 0);
    // The stats line is on stderr.
    CHECK(r.err.find("TTFT") != std::string::npos);
}

TEST_CASE("logits writes a JSON header and the floats", "[cli]") {
    auto model = aprhost::test::synth_model("llama", "tiny", "q8_0");
    std::string out = std::string(APRHOST_TEST_DATA_DIR) + "/logits-" + std::to_string(getpid()) + ".bin";
    auto r = run_cli("logits " + model + " --tokens 1,2,3 --all-positions -o " + out);
    REQUIRE(r.rc == 0);
    std::string data = slurp(out);
    auto nl = data.find('\n');
    REQUIRE(nl != std::string::npos);
    auto header = nlohmann::json::parse(data.substr(0, nl));
    CHECK(header["n_positions"] == 3);
    const size_t V = header["n_vocab"].get<size_t>();
    CHECK(data.size() - nl - 1 == 3 * V * sizeof(float));
}

TEST_CASE("synth refuses to overwrite without --force", "[cli]") {
    std::string p = std::string(APRHOST_TEST_DATA_DIR) + "/exists-" + std::to_string(getpid()) + ".gguf";
    { std::ofstream(p) << "x"; }
    auto r = run_cli("synth --shape tiny -o " + p);
    CHECK(r.rc == 1);
    check_one_line_error(r);
}

TEST_CASE("run --parallel generates N completions in one batch", "[cli]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("run " + model + " -p 'hello world' -n 6 --ignore-eos --parallel 3 --seed 9 --json");
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["completions"].size() == 3);
    CHECK(j["completions"][0]["seed"] == 9);
    CHECK(j["completions"][2]["seed"] == 11);
    CHECK(j["generated_tokens"] == 18);
    CHECK(r.err.find("aggregate") != std::string::npos);
}
