// `aprhost profile` end to end on the synthetic tiny model: the JSON schema, per-op entries with measured (positive)
// times whose sum stays within the step's wall time, the roofline fields, the SVG, and gates that can fail.
#include "cli_runner.hpp"
#include "test_models.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

using profiling_test::run_cli;
using profiling_test::slurp;

namespace {
const std::string kFast = " --prompt-tokens 12 --gen-tokens 6 --bw-mib 8 --threads 1";
}

TEST_CASE("profile --json: per-op times measured, within the step time, roofline fields", "[profiling][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    const std::string svg = std::string(APRHOST_TEST_DATA_DIR) + "/profile-roofline-" + std::to_string(getpid()) + ".svg";
    auto r = run_cli("profile " + model + kFast + " --context 10,40 --svg " + svg + " --json");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["command"] == "profile");
    CHECK(j["pass"] == true);
    CHECK(j["machine"]["bandwidth_gb_s"].get<double>() > 0);
    CHECK(j["machine"]["peak_gflop_s"].get<double>() > 0);
    CHECK(j["throughput"]["decode_tok_s"].get<double>() > 0);
    CHECK(j["throughput"]["decode_ms_samples"].size() == 6);
    CHECK(j["environment"]["model_sha256"].get<std::string>().size() == 64);
    for (const char* phase : {"prefill", "decode"}) {
        INFO(phase);
        const auto& p = j["phases"][phase];
        std::set<std::string> ops;
        double share = 0;
        for (auto& o : p["ops"]) {
            ops.insert(o["op"].get<std::string>());
            CHECK(o["ms"].get<double>() > 0);
            CHECK(o["gb_s"].get<double>() > 0);
            CHECK((o["bound"] == "memory" || o["bound"] == "compute"));
            share += o["share"].get<double>();
        }
        for (const char* op : {"mul_mat", "attention", "rms_norm", "rope", "kv_store", "get_rows", "add", "swiglu"})
            CHECK(ops.count(op) == 1);
        CHECK(share == Approx(1.0).epsilon(1e-6));
        CHECK(p["layers"].size() >= 2);
        // Each step: sum of the node times ≤ the step's wall time (+5 % and 50 µs of clock slack).
        REQUIRE(p["samples"].size() == p["steps"].get<size_t>());
        for (auto& s : p["samples"]) {
            CHECK(s["node_ms"].get<double>() > 0);
            CHECK(s["node_ms"].get<double>() <= s["graph_ms"].get<double>() * 1.05 + 0.05);
            CHECK(s["graph_ms"].get<double>() <= s["step_ms"].get<double>() * 1.05 + 0.05);
        }
        CHECK(p["bandwidth_ceiling_pct"].get<double>() > 0);
        CHECK(p["intensity"].get<double>() > 0);
    }
    CHECK(j["phases"]["decode"]["tokens_per_step"] == 1.0);
    CHECK(j["phases"]["prefill"]["tokens_per_step"] == 12.0);
    const auto& c = j["context"];
    CHECK(c["contexts"] == nlohmann::json::array({10, 40}));
    CHECK(c["ratio"].get<double>() > 0);
    CHECK(c["ratio"].get<double>() ==
          Approx(c["step_ms"][1].get<double>() / c["step_ms"][0].get<double>()).epsilon(1e-9));
    const std::string plot = slurp(svg);
    CHECK(plot.find("<svg") != std::string::npos);
    CHECK(plot.find("mul_mat") != std::string::npos);
    CHECK(plot.find("</svg>") != std::string::npos);
}

TEST_CASE("profile --ci gates: impossible throughput, p99 and RSS exit 1; reachable ones pass", "[profiling][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("profile " + model + kFast + " --ci --assert-throughput 999999");
    INFO(r.out << r.err);
    CHECK(r.rc == 1);
    CHECK(r.out.find("FAIL decode_tok_s") != std::string::npos);
    CHECK(r.out.find("context_ratio") != std::string::npos);  // --ci adds the O(n) gate at contexts 10,100

    auto r2 = run_cli("profile " + model + kFast + " --ci --assert-p99 0.000001 --json");
    CHECK(r2.rc == 1);
    auto j = nlohmann::json::parse(r2.out);
    CHECK(j["pass"] == false);
    CHECK(run_cli("profile " + model + kFast + " --assert-rss 1").rc == 1);
    // A context ratio threshold no real run can meet.
    CHECK(run_cli("profile " + model + kFast + " --ci --max-context-ratio 0").rc == 1);

    auto ok = run_cli("profile " + model + kFast + " --ci --assert-throughput 1 --assert-p99 100000 --assert-rss 100000");
    INFO(ok.out << ok.err);
    CHECK(ok.rc == 0);
    CHECK(ok.out.find("PASS decode_tok_s") != std::string::npos);
}

TEST_CASE("profile: usage and file errors keep the CLI's exit codes", "[profiling][cli]") {
    CHECK(run_cli("profile /nonexistent.gguf --bw-mib 8").rc == 2);
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    CHECK(run_cli("profile " + model + " --context 10,x").rc == 1);
}
