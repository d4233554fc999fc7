#include "qa_report.hpp"

#include "app_context.hpp"

#include <aprhost/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace aprhost::cli::qa {

const char* gate_status_name(GateStatus s) {
    switch (s) {
        case GateStatus::PASS: return "PASS";
        case GateStatus::FAIL: return "FAIL";
        case GateStatus::SKIP: return "SKIP";
    }
    return "?";
}

Gate Gate::skip(std::string name, std::string seed_id, std::string why) {
    Gate g;
    g.name = std::move(name);
    g.seed_id = std::move(seed_id);
    g.status = GateStatus::SKIP;
    g.detail = std::move(why);
    return g;
}

const std::vector<std::string>& gate_names() {
    static const std::vector<std::string> names = {"loads",      "golden",   "kv_invariant",  "parity",
                                                    "throughput", "bench_cv", "context_ratio", "perplexity"};
    return names;
}

std::vector<std::string> parse_gate_selection(const std::string& csv) {
    const auto& all = gate_names();
    if (csv.empty() || csv == "all") return all;
    std::vector<bool> want(all.size(), false);
    for (const std::string& name : split_csv(csv)) {
        auto it = std::find(all.begin(), all.end(), name);
        if (it == all.end()) {
            std::string valid;
            for (auto& n : all) valid += (valid.empty() ? "" : ", ") + n;
            throw core::Error(core::ErrorKind::USAGE, "--gates: unknown gate '" + name + "' (gates: " + valid + ")");
        }
        want[size_t(it - all.begin())] = true;
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < all.size(); ++i)
        if (want[i]) out.push_back(all[i]);
    if (out.empty()) throw core::Error(core::ErrorKind::USAGE, "--gates: no gate named");
    return out;
}

Totals count(const std::vector<Gate>& gates) {
    Totals t;
    for (auto& g : gates) {
        if (g.status == GateStatus::PASS) ++t.passed;
        else if (g.status == GateStatus::FAIL) ++t.failed;
        else ++t.skipped;
    }
    return t;
}

int exit_code(const std::vector<Gate>& gates) { return count(gates).failed > 0 ? 1 : 0; }

std::string failed_gate_names(const std::vector<Gate>& gates) {
    std::string out;
    for (auto& g : gates)
        if (g.status == GateStatus::FAIL)
            out += (out.empty() ? "" : ", ") + (g.target.empty() ? g.name : g.name + "[" + g.target + "]");
    return out;
}

namespace {

// Numbers that are NaN/inf have no JSON form: null, so a reader never mistakes them for a measurement.
nlohmann::json finite_or_null(const nlohmann::json& v) {
    if (v.is_number_float() && !std::isfinite(v.get<double>())) return nullptr;
    return v;
}

// A value or threshold for the human table: numbers with 4 significant digits, text quoted and shortened.
std::string show(const nlohmann::json& v, const std::string& unit) {
    if (v.is_null()) return "-";
    if (v.is_string()) {
        std::string s = v.get<std::string>();
        std::replace(s.begin(), s.end(), '\n', ' ');
        if (s.size() > 24) s = s.substr(0, 21) + "...";  // the whole text is in the JSON record
        return "\"" + s + "\"";
    }
    const double d = v.get<double>();
    const std::string num = std::isfinite(d) ? fmt::format("{:.4g}", d) : std::string(std::isnan(d) ? "nan" : "inf");
    return unit.empty() ? num : num + " " + unit;
}

}  // namespace

nlohmann::json gate_json(const Gate& g) {
    return {{"name", g.name},
            {"seed_id", g.seed_id},
            {"target", g.target},
            {"status", gate_status_name(g.status)},
            {"value", finite_or_null(g.value)},
            {"op", g.op},
            {"threshold", finite_or_null(g.threshold)},
            {"unit", g.unit},
            {"ms", g.ms},
            {"detail", g.detail}};
}

nlohmann::json report_json(const std::string& model, const nlohmann::json& config, const nlohmann::json& environment,
                           const nlohmann::json& memory, const std::vector<Gate>& gates) {
    nlohmann::json arr = nlohmann::json::array(), failed = nlohmann::json::array();
    for (auto& g : gates) {
        arr.push_back(gate_json(g));
        if (g.status == GateStatus::FAIL) failed.push_back(g.target.empty() ? g.name : g.name + "[" + g.target + "]");
    }
    const Totals t = count(gates);
    return {{"command", "qa"},          {"model", model},       {"config", config},          {"environment", environment},
            {"memory", memory},          {"gates", arr},         {"passed", t.passed},         {"failed", t.failed},
            {"skipped", t.skipped},      {"failed_gates", failed}, {"pass", t.failed == 0}};
}

std::string format_gate_line(const Gate& g) {
    const std::string name = g.target.empty() ? g.name : g.name + "[" + g.target + "]";
    std::string bound;
    if (!g.op.empty() && !g.threshold.is_null()) bound = g.op + " " + show(g.threshold, g.op == "contains" ? "" : g.unit);
    return fmt::format("{}  {:<20} {:>26} {:<14} {:>7.0f} ms  {}", gate_status_name(g.status), name,
                       show(g.value, g.unit), bound, g.ms, g.detail);
}

std::string format_totals(const std::vector<Gate>& gates) {
    const Totals t = count(gates);
    const std::string failed = failed_gate_names(gates);
    return fmt::format("{} gates: {} passed, {} failed{}, {} skipped — {}", gates.size(), t.passed, t.failed,
                       failed.empty() ? "" : " (" + failed + ")", t.skipped, t.failed ? "FAIL" : "PASS");
}

}  // namespace aprhost::cli::qa
