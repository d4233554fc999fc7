// The qa record on injected gates: gate selection, the exit code (a SKIP is not a failure), the JSON field names
// docs/tools.md promises, non-finite values as null, and the human lines naming the failed gates.
#include "qa_report.hpp"

#include <aprhost/core/error.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using namespace aprhost::cli::qa;

namespace {

Gate gate(const char* name, GateStatus s, nlohmann::json value, const char* op, nlohmann::json threshold) {
    Gate g;
    g.name = name;
    g.status = s;
    g.value = std::move(value);
    g.op = op;
    g.threshold = std::move(threshold);
    return g;
}

}  // namespace

TEST_CASE("gate selection: run order, duplicates, all, unknown names", "[qa]") {
    CHECK(parse_gate_selection("") == gate_names());
    CHECK(parse_gate_selection("all") == gate_names());
    CHECK(gate_names().size() == 8);
    // Run order, not the order given; duplicates once.
    CHECK(parse_gate_selection("perplexity,loads,perplexity") == std::vector<std::string>{"loads", "perplexity"});
    CHECK(parse_gate_selection("throughput,") == std::vector<std::string>{"throughput"});
    try {
        parse_gate_selection("loads,speed");
        FAIL("an unknown gate was accepted");
    } catch (const aprhost::core::Error& e) {
        CHECK(e.kind() == aprhost::core::ErrorKind::USAGE);
        CHECK(std::string(e.what()).find("'speed'") != std::string::npos);
        CHECK(std::string(e.what()).find("context_ratio") != std::string::npos);  // lists the valid names
    }
    CHECK_THROWS_AS(parse_gate_selection(","), aprhost::core::Error);
}

TEST_CASE("exit code: 1 only when a gate failed, a SKIP is not a failure", "[qa]") {
    std::vector<Gate> gates = {gate("loads", GateStatus::PASS, 12.0, "", nullptr),
                               Gate::skip("golden", "", "no chat template")};
    CHECK(exit_code(gates) == 0);
    CHECK(failed_gate_names(gates).empty());
    CHECK(format_totals(gates).find("— PASS") != std::string::npos);
    gates.push_back(gate("throughput", GateStatus::FAIL, 50.0, ">=", 1e9));
    Gate p = gate("parity", GateStatus::FAIL, 0.5, "<=", 0.02);
    p.target = "cpu-scalar";
    gates.push_back(p);
    CHECK(exit_code(gates) == 1);
    CHECK(failed_gate_names(gates) == "throughput, parity[cpu-scalar]");
    const Totals t = count(gates);
    CHECK(t.passed == 1);
    CHECK(t.failed == 2);
    CHECK(t.skipped == 1);
    CHECK(format_totals(gates).find("(throughput, parity[cpu-scalar])") != std::string::npos);
    CHECK(format_totals(gates).find("— FAIL") != std::string::npos);
    CHECK(format_gate_line(gates[2]).rfind("FAIL  throughput", 0) == 0);
    CHECK(format_gate_line(gates[3]).find("parity[cpu-scalar]") != std::string::npos);
}

TEST_CASE("JSON record: documented fields, null for what was not measured or is not finite", "[qa]") {
    Gate ppl = gate("perplexity", GateStatus::FAIL, NAN, "<=", 20.0);
    ppl.seed_id = "F-PERF-006";
    ppl.ms = 3.5;
    ppl.detail = "NOT FINITE";
    const auto j = gate_json(ppl);
    for (const char* k : {"name", "seed_id", "target", "status", "value", "op", "threshold", "unit", "ms", "detail"})
        CHECK(j.contains(k));
    CHECK(j.size() == 10);
    CHECK(j["value"].is_null());
    CHECK(j["threshold"] == 20.0);
    CHECK(j["status"] == "FAIL");
    CHECK(j["seed_id"] == "F-PERF-006");

    const auto golden = gate_json(gate("golden", GateStatus::PASS, "It is 4.", "contains", "4"));
    CHECK(golden["value"] == "It is 4.");
    CHECK(golden["threshold"] == "4");

    const auto r = report_json("m.gguf", {{"min_tps", 1}}, nullptr, nullptr, {gate("loads", GateStatus::PASS, 5.0, "", nullptr), ppl});
    CHECK(r["command"] == "qa");
    CHECK(r["model"] == "m.gguf");
    CHECK(r["gates"].size() == 2);
    CHECK(r["passed"] == 1);
    CHECK(r["failed"] == 1);
    CHECK(r["skipped"] == 0);
    CHECK(r["failed_gates"] == nlohmann::json::array({"perplexity"}));
    CHECK(r["pass"] == false);
    CHECK(r["environment"].is_null());
    CHECK(r["memory"].is_null());
    CHECK(r["config"]["min_tps"] == 1);
}
