// `aprhost bench` and `aprhost eval` run as a user would on the synthetic tiny model: JSON fields present and
// sane (positive, finite — no timing thresholds), the gates can fail (exit 1), bad inputs exit 2.
#include "test_models.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
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
    static int counter = 0;
    const std::string tag = std::to_string(getpid()) + "-" + std::to_string(counter++);
    const std::string dir = APRHOST_TEST_DATA_DIR;
    const std::string out = dir + "/be-" + tag + ".out", err = dir + "/be-" + tag + ".err";
    std::string cmd = std::string("env -u APRHOST_PLUGIN_PATH ") + APRHOST_BINARY_DIR + "/bin/aprhost " + args +
                      " >" + out + " 2>" + err + " </dev/null";
    int st = std::system(cmd.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
}

bool positive_finite(const nlohmann::json& v) { return v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() > 0; }

std::string text_file() {
    std::string p = std::string(APRHOST_TEST_DATA_DIR) + "/eval-text-" + std::to_string(getpid()) + ".txt";
    std::ofstream f(p);
    for (int i = 0; i < 12; ++i)
        f << "The quick brown fox jumps over the lazy dog, and the dog sleeps in the warm afternoon sun. ";
    return p;
}

}  // namespace

TEST_CASE("bench --json on the tiny model", "[bench]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    // --max-cv is huge: this test checks the record, not this (shared, noisy) machine's stability.
    auto r = run_cli("bench " + model + " --prompt-tokens 16 --gen-tokens 8 --iterations 3 --warmup 1 --max-cv 1e9 --json");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["tool"] == "bench");
    CHECK(j["config"]["prompt_tokens"] == 16);
    CHECK(j["config"]["gen_tokens"] == 8);
    CHECK(j["config"]["pp_test"] == "pp16");
    CHECK(j["config"]["tg_test"] == "tg8");
    for (const char* k : {"prefill_tok_s", "decode_tok_s", "ttft_ms", "itl_ms"}) {
        INFO(k);
        for (const char* f : {"mean", "median", "min", "max"}) CHECK(positive_finite(j[k][f]));
        CHECK(j[k]["min"].get<double>() <= j[k]["median"].get<double>());
        CHECK(j[k]["median"].get<double>() <= j[k]["max"].get<double>());
        CHECK(j[k]["cv_pct"].get<double>() >= 0);
    }
    CHECK(j["prefill_tok_s"]["n"] == 3);
    CHECK(j["itl_ms"]["n"] == 24);  // 3 iterations × 8 decode steps
    CHECK(j["itl_ms"]["p50"].get<double>() <= j["itl_ms"]["p99"].get<double>());
    CHECK(j["samples"]["prefill_tok_s"].size() == 3);
    CHECK(j["samples"]["itl_ms"].size() == 3);
    CHECK(j["samples"]["itl_ms"][0].size() == 8);
    CHECK(j["warmup_samples"]["prefill_tok_s"].size() == 1);
    // TTFT includes the prefill.
    for (size_t i = 0; i < 3; ++i)
        CHECK(j["samples"]["ttft_ms"][i].get<double>() >= j["samples"]["prefill_ms"][i].get<double>());
    CHECK(j["memory"]["peak_rss_bytes"].get<uint64_t>() > 0);
    CHECK(j["memory"]["device_bytes_allocated"].get<uint64_t>() > 0);
    auto& env = j["environment"];
    CHECK(env["model_sha256"].get<std::string>().size() == 64);
    CHECK(!env["cpu_model"].get<std::string>().empty());
    CHECK(!env["backend_version"].get<std::string>().empty());
    CHECK(!env["git_commit"].get<std::string>().empty());
    CHECK(j["gate"]["pass"] == true);
}

TEST_CASE("bench fails its CV gate at --max-cv 0 and prints a table by default", "[bench]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    // Real timings always vary a little: CV > 0 % fails a 0 % gate.
    auto r = run_cli("bench " + model + " --prompt-tokens 8 --gen-tokens 4 --iterations 3 --warmup 0 --max-cv 0");
    CHECK(r.rc == 1);
    CHECK(r.out.find("pp8") != std::string::npos);
    CHECK(r.out.find("tg4") != std::string::npos);
    CHECK(r.out.find("FAIL") != std::string::npos);
    CHECK(r.err.find("CV above") != std::string::npos);
}

TEST_CASE("bench argument and file errors", "[bench]") {
    CHECK(run_cli("bench /nonexistent.gguf --iterations 1").rc == 2);
    CHECK(run_cli("bench x.gguf --iterations 0").rc == 1);
}

TEST_CASE("eval --json gives a finite perplexity with a confidence interval", "[eval]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("eval " + model + " --dataset " + text_file() + " --ctx 32 --stride 16 --json");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["finite"] == true);
    CHECK(positive_finite(j["ppl"]));
    CHECK(j["ppl"].get<double>() > 1.0);
    CHECK(j["ppl_ci95"][0].get<double>() <= j["ppl"].get<double>());
    CHECK(j["ppl_ci95"][1].get<double>() >= j["ppl"].get<double>());
    CHECK(j["tokens_scored"].get<int>() == j["tokens"].get<int>() - 1);
    CHECK(j["windows"].get<int>() > 1);
    CHECK(j["dataset_sha256"].get<std::string>().size() == 64);
    CHECK(j["pass"] == true);
}

TEST_CASE("eval gates: threshold, missing dataset, bad stride", "[eval]") {
    auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("eval " + model + " --dataset " + text_file() + " --ctx 32 --stride 16 --threshold 1");
    CHECK(r.rc == 1);
    CHECK(r.out.find("FAIL") != std::string::npos);
    CHECK(r.err.find("above the threshold") != std::string::npos);
    r = run_cli("eval " + model + " --dataset /nonexistent/text.txt");
    CHECK(r.rc == 2);
    CHECK(r.err.rfind("aprhost: error: ", 0) == 0);
    CHECK(run_cli("eval " + model + " --dataset " + text_file() + " --ctx 16 --stride 32").rc == 1);
    CHECK(run_cli("eval " + model).rc == 1);  // --dataset is required
}
