// `aprhost compare` end to end on the synthetic tiny model: cpu (avx2) vs cpu-scalar agree on greedy tokens and
// closely on logits; unavailable backends are SKIPPED with a reason; --assert-speedup can fail.
#include "cli_runner.hpp"
#include "test_models.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using profiling_test::run_cli;

TEST_CASE("compare cpu,cpu-scalar: same greedy tokens, close logits, unknown backend skipped", "[profiling][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("compare --backends cpu,cpu-scalar,nosuch " + model + " -n 8 --threads 1 --json");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["command"] == "compare");
    REQUIRE(j["backends"].size() == 3);
    const auto& a = j["backends"][0];
    const auto& b = j["backends"][1];
    const auto& skipped = j["backends"][2];
    CHECK(a["status"] == "ok");
    CHECK(a["reference"] == true);
    CHECK(b["backend"] == "cpu-scalar");
    CHECK(b["status"] == "ok");
    CHECK(skipped["status"] == "skipped");
    CHECK(skipped["reason"].get<std::string>().find("nosuch") != std::string::npos);
    // Same greedy tokens (prompt argmax + 8 decode steps).
    CHECK(b["tokens"] == a["tokens"]);
    CHECK(a["tokens"].size() == 9);
    CHECK(b["token_agreement"] == 1.0);
    CHECK(b["first_divergence"] == -1);
    // Bounds: the avx2 kernels quantize activations to 8 bits for their integer dots, the scalar ones follow the
    // same scheme in a different summation order; on the tiny model the logits (|l| ~ 1–5) differ by < 0.25 and
    // the rows keep cosine > 0.999.
    CHECK(b["prompt_logits"]["positions"].get<int>() == j["prompt_tokens"].get<int>());
    CHECK(b["decode_logits"]["positions"] == 8);
    for (const char* k : {"prompt_logits", "decode_logits"}) {
        INFO(k << " " << b[k]["max_abs"] << " " << b[k]["min_cosine"]);
        CHECK(b[k]["max_abs"].get<double>() < 0.25);
        CHECK(b[k]["min_cosine"].get<double>() > 0.999);
        CHECK(a[k]["max_abs"] == 0.0);
    }
    CHECK(b["prefill_tok_s"].get<double>() > 0);
    CHECK(b["decode_tok_s"].get<double>() > 0);
    CHECK(b["speedup_decode"].get<double>() ==
          Approx(b["decode_tok_s"].get<double>() / a["decode_tok_s"].get<double>()).epsilon(1e-9));
    CHECK(j["pass"] == true);
}

TEST_CASE("compare --assert-speedup fails when the claim does not hold or cannot be tested", "[profiling][cli]") {
    const auto model = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    auto r = run_cli("compare --backends cpu,cpu-scalar " + model + " -n 4 --threads 1 --assert-speedup 1000");
    INFO(r.out << r.err);
    CHECK(r.rc == 1);
    CHECK(r.out.find("FAIL decode speedup") != std::string::npos);
    // The second backend is unavailable: the claim cannot hold.
    CHECK(run_cli("compare --backends cpu,nosuch " + model + " -n 2 --assert-speedup 0.1").rc == 1);
    // A trivially true claim passes.
    CHECK(run_cli("compare --backends cpu,cpu-scalar " + model + " -n 2 --threads 1 --assert-speedup 0").rc == 0);
    // No backend available at all: a plugin error (3), not a gate.
    CHECK(run_cli("compare --backends nosuch " + model + " -n 2").rc == 3);
}
