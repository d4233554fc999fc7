// `aprhost qa` end to end on the synthetic tiny model, as a user runs it: impossible thresholds exit 1 and name
// the failed gate, generous ones pass (exit 0), the JSON record's schema, an absent backend is a SKIP, golden
// SKIPs a model without a chat template, a broken model fails the loads gate, and argument errors keep the CLI's
// exit codes. No timing thresholds a shared machine could miss: the passing run's bounds are unreachable by noise.
#include "cli_runner.hpp"
#include "test_models.hpp"

#include <aprhost/core/gguf_writer.hpp>
#include <aprhost/core/synth_model.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

using profiling_test::run_cli;

namespace {

// Small enough for seconds on two shared cores; every gate still measures something real.
const std::string kFast = " --threads 1 --prompt-tokens 8 --gen-tokens 4 --iterations 2 --warmup 0 --context-steps 2"
                          " --kv-positions 16 --ppl-tokens 64 --ppl-ctx 32 --golden-tokens 4";

std::string tiny() { return aprhost::test::synth_model("qwen2", "tiny", "q4_k"); }

std::string text_file() {
    const std::string p = std::string(APRHOST_TEST_DATA_DIR) + "/qa-text-" + std::to_string(getpid()) + ".txt";
    std::ofstream f(p);
    for (int i = 0; i < 10; ++i) f << "The quick brown fox jumps over the lazy dog near the river bank. ";
    return p;
}

// The tiny model without tokenizer.chat_template (everything else identical).
std::string no_template_model() {
    namespace fs = std::filesystem;
    const std::string path = std::string(APRHOST_TEST_DATA_DIR) + "/qa-tiny-no-chat-template.gguf";
    if (fs::exists(path)) return path;
    aprhost::core::SynthOptions o;
    o.quant = APH_DTYPE_Q8_0;
    const aprhost::core::Metadata full = aprhost::core::synthetic_model_metadata(o);
    aprhost::core::Metadata meta;
    for (auto& [key, value] : full.entries())
        if (key != "tokenizer.chat_template") meta.set(key, value);
    aprhost::core::GgufWriter w(std::move(meta));
    const auto plan = aprhost::core::plan_synthetic_model(o);
    for (size_t i = 0; i < plan.size(); ++i)
        w.add_tensor(plan[i].name, plan[i].dtype, plan[i].ne, [p = plan[i], seed = o.seed, i](std::span<uint8_t> out) {
            aprhost::core::fill_synthetic_tensor(p, seed, i, out);
        });
    const std::string tmp = path + "." + std::to_string(getpid());  // parallel test processes: rename atomically
    w.write(tmp);
    fs::rename(tmp, path);
    return path;
}

const nlohmann::json* find_gate(const nlohmann::json& j, const std::string& name, const std::string& target = "") {
    for (auto& g : j["gates"])
        if (g["name"] == name && g["target"] == target) return &g;
    return nullptr;
}

}  // namespace

TEST_CASE("qa: impossible thresholds exit 1 and name the failed gate", "[qa][cli]") {
    const auto model = tiny();
    auto r = run_cli("qa " + model + kFast + " --gates throughput --min-tps 1e9");
    INFO(r.out << r.err);
    CHECK(r.rc == 1);
    CHECK(r.out.find("FAIL  throughput") != std::string::npos);
    CHECK(r.out.find("1 failed (throughput)") != std::string::npos);
    CHECK(r.err.find("gate(s) failed: throughput") != std::string::npos);

    auto p = run_cli("qa " + model + kFast + " --gates perplexity --dataset " + text_file() + " --ppl-threshold 1");
    INFO(p.out << p.err);
    CHECK(p.rc == 1);
    CHECK(p.out.find("FAIL  perplexity") != std::string::npos);
    CHECK(p.err.find("gate(s) failed: perplexity") != std::string::npos);

    auto c = run_cli("qa " + model + kFast + " --gates loads,context_ratio --max-context-ratio 0 --json");
    INFO(c.out << c.err);
    CHECK(c.rc == 1);
    auto j = nlohmann::json::parse(c.out);
    CHECK(j["failed_gates"] == nlohmann::json::array({"context_ratio"}));
    CHECK(j["pass"] == false);
    CHECK((*find_gate(j, "loads"))["status"] == "PASS");
}

TEST_CASE("qa: a passing run exits 0, the JSON record holds its schema, an absent backend is a SKIP", "[qa][cli]") {
    const auto model = tiny();
    auto r = run_cli("qa " + model + kFast + " --backends cpu,cpu-scalar,nosuch --dataset " + text_file() +
                     " --min-tps 0 --max-cv 1e9 --max-context-ratio 1e9 --ppl-threshold 1e9"
                     " --gates loads,kv_invariant,parity,throughput,bench_cv,context_ratio,perplexity --json");
    INFO(r.out << r.err);
    REQUIRE(r.rc == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["command"] == "qa");
    CHECK(j["pass"] == true);
    CHECK(j["failed"] == 0);
    CHECK(j["failed_gates"].empty());
    REQUIRE(j["gates"].size() == 8);  // parity once per compared backend
    const std::set<std::string> statuses = {"PASS", "FAIL", "SKIP"};
    for (auto& g : j["gates"]) {
        INFO(g.dump());
        for (const char* k : {"name", "seed_id", "target", "status", "value", "op", "threshold", "unit", "ms", "detail"})
            CHECK(g.contains(k));
        CHECK(statuses.count(g["status"].get<std::string>()) == 1);
        CHECK(g["ms"].get<double>() >= 0);
        CHECK_FALSE(g["detail"].get<std::string>().empty());
        if (g["status"] == "PASS") {
            CHECK(g["value"].is_number());  // golden is not selected: every value here is a number
            if (g["name"] != "loads") CHECK(g["threshold"].is_number());
        }
    }
    CHECK(j["passed"].get<int>() + j["skipped"].get<int>() == 8);

    const auto* kv = find_gate(j, "kv_invariant");
    REQUIRE(kv);
    CHECK((*kv)["status"] == "PASS");
    CHECK((*kv)["seed_id"] == "PMAT-103");
    CHECK((*kv)["threshold"] == 1e-5);  // the conformance bound for the cpu backend
    CHECK((*kv)["value"].get<double>() <= 1e-5);

    const auto* scalar = find_gate(j, "parity", "cpu-scalar");
    REQUIRE(scalar);
    CHECK((*scalar)["status"] == "PASS");
    CHECK((*scalar)["value"].get<double>() <= (*scalar)["threshold"].get<double>());
    const auto* absent = find_gate(j, "parity", "nosuch");
    REQUIRE(absent);
    CHECK((*absent)["status"] == "SKIP");
    CHECK((*absent)["value"].is_null());
    CHECK((*absent)["detail"].get<std::string>().find("nosuch") != std::string::npos);

    const auto* tp = find_gate(j, "throughput");
    const auto* cv = find_gate(j, "bench_cv");
    REQUIRE(tp);
    REQUIRE(cv);
    CHECK((*tp)["value"].get<double>() > 0);
    CHECK((*tp)["unit"] == "tok/s");
    CHECK((*cv)["seed_id"] == "F-PERF-005");
    CHECK((*cv)["value"].get<double>() >= 0);
    CHECK((*find_gate(j, "context_ratio"))["value"].get<double>() > 0);
    const auto* ppl = find_gate(j, "perplexity");
    REQUIRE(ppl);
    CHECK((*ppl)["value"].get<double>() > 1.0);
    CHECK((*ppl)["seed_id"] == "F-PERF-006");

    CHECK(j["environment"]["model_sha256"].get<std::string>().size() == 64);
    CHECK(j["memory"]["peak_rss_bytes"].get<double>() > 0);
    CHECK(j["config"]["min_tps"] == 0.0);
    CHECK(j["config"]["backends"] == nlohmann::json::array({"cpu", "cpu-scalar", "nosuch"}));
}

TEST_CASE("qa golden: a chat model is judged, a model without a chat template is a SKIP", "[qa][cli]") {
    auto with = run_cli("qa " + tiny() + kFast + " --gates golden --json");
    INFO(with.out << with.err);
    REQUIRE((with.rc == 0 || with.rc == 1));  // random weights may or may not say "4": judged either way
    auto j = nlohmann::json::parse(with.out);
    const auto& g = j["gates"][0];
    CHECK(g["name"] == "golden");
    CHECK(g["status"] != "SKIP");
    CHECK(g["value"].is_string());
    CHECK(g["op"] == "contains");
    CHECK(g["threshold"] == "4");
    CHECK(with.rc == (g["status"] == "FAIL" ? 1 : 0));

    CHECK(j["config"]["backends"][0] == "cpu-avx2");  // defaulted: --backend first, then the other loaded ones

    auto without = run_cli("qa " + no_template_model() + kFast + " --gates loads,golden --json");
    INFO(without.out << without.err);
    CHECK(without.rc == 0);
    auto k = nlohmann::json::parse(without.out);
    const auto* golden = find_gate(k, "golden");
    REQUIRE(golden);
    CHECK((*golden)["status"] == "SKIP");
    CHECK((*golden)["detail"].get<std::string>().find("no chat template") != std::string::npos);
}

TEST_CASE("qa: a model that does not load fails the loads gate and the others SKIP", "[qa][cli]") {
    const std::string bad = std::string(APRHOST_TEST_DATA_DIR) + "/qa-broken-" + std::to_string(getpid()) + ".gguf";
    std::ofstream(bad) << "GGUF this is not a model";
    auto r = run_cli("qa " + bad + kFast + " --gates throughput,perplexity --json");
    INFO(r.out << r.err);
    CHECK(r.rc == 1);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["failed_gates"] == nlohmann::json::array({"loads"}));  // reported although not selected
    CHECK((*find_gate(j, "throughput"))["status"] == "SKIP");
    CHECK(j["environment"].is_null());
}

TEST_CASE("qa: argument errors keep the CLI's exit codes", "[qa][cli]") {
    const auto model = tiny();
    auto u = run_cli("qa " + model + " --gates loads,speed");
    CHECK(u.rc == 1);
    CHECK(u.err.find("unknown gate 'speed'") != std::string::npos);
    CHECK(run_cli("qa /nonexistent/model.gguf").rc == 2);
    CHECK(run_cli("qa " + model + " --dataset /nonexistent/text.txt").rc == 2);
    CHECK(run_cli("qa " + model + " --backend nosuch").rc == 3);
    CHECK(run_cli("qa " + model + " --kv nosuch").rc == 3);
}
