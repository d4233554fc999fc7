// The record of `aprhost qa`: one Gate per check (PASS / FAIL / SKIP with the measured value, the threshold it
// was held to, its duration and a one-line detail), the gate names `--gates` selects from, the JSON record with
// its documented field names (docs/tools.md) and the exit code. No measuring here (qa_gates.hpp does that), so
// the record's rules can be tested on injected gates.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace aprhost::cli::qa {

enum class GateStatus { PASS, FAIL, SKIP };
const char* gate_status_name(GateStatus s);  // "PASS", "FAIL", "SKIP"

struct Gate {
    std::string name;                  // one of gate_names()
    std::string seed_id;               // the SEED.md gate it implements ("F-PERF-005", "PMAT-103") or ""
    std::string target;                // parity: the backend compared with the reference; else ""
    GateStatus status = GateStatus::SKIP;
    nlohmann::json value;              // measured: a number (golden: the answer text); null when not measured
    std::string op;                    // how value meets threshold: ">=", "<=", "<", "contains"; "" for none
    nlohmann::json threshold;          // a number (golden: the expected substring); null for none
    std::string unit;                  // "ms", "tok/s", "%", "x", "nmse" or "" (a plain number)
    double ms = 0;                     // wall time of the gate
    std::string detail;                // one line: what was measured, why it failed or was skipped

    static Gate skip(std::string name, std::string seed_id, std::string why);
};

// Every gate in the order qa runs them: loads, golden, kv_invariant, parity, throughput, bench_cv,
// context_ratio, perplexity.
const std::vector<std::string>& gate_names();

// "a,b" → the named gates in run order (duplicates ignored); "" or "all" → every gate. Throws core::Error(USAGE)
// naming the unknown gate and the valid names.
std::vector<std::string> parse_gate_selection(const std::string& csv);

struct Totals {
    int passed = 0, failed = 0, skipped = 0;
};
Totals count(const std::vector<Gate>& gates);

// "throughput, parity[cpu-scalar]": the failed gates (parity with its backend), "" when none failed.
std::string failed_gate_names(const std::vector<Gate>& gates);

// 1 when a gate failed, else 0 (SKIP is not a failure).
int exit_code(const std::vector<Gate>& gates);

// {"name", "seed_id", "target", "status", "value", "op", "threshold", "unit", "ms", "detail"}; non-finite numbers
// become null.
nlohmann::json gate_json(const Gate& g);

// {"command": "qa", "model", "config", "environment", "memory", "gates": [gate_json...], "passed", "failed",
//  "skipped", "failed_gates": [names as failed_gate_names], "pass"}
nlohmann::json report_json(const std::string& model, const nlohmann::json& config, const nlohmann::json& environment,
                           const nlohmann::json& memory, const std::vector<Gate>& gates);

// One human line: "PASS  throughput        212.4 tok/s >= 1 tok/s        1843 ms  median decode ...".
std::string format_gate_line(const Gate& g);
// "8 gates: 7 passed, 1 failed (throughput), 0 skipped — FAIL"
std::string format_totals(const std::vector<Gate>& gates);

}  // namespace aprhost::cli::qa
