// Running cases, filtering, and the two report formats (human table, JSON).
#include "conformance.hpp"

#include <aprhost/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <regex>

namespace aprhost::conformance {

const char* status_name(Status s) {
    switch (s) {
        case Status::PASS: return "PASS";
        case Status::FAIL: return "FAIL";
        case Status::SKIP: return "SKIP";
    }
    return "?";
}

std::vector<Case> all_cases(const Env& env) {
    std::vector<Case> out = op_cases();
    for (auto& c : model_cases(env)) out.push_back(std::move(c));
    for (auto& c : abi_cases()) out.push_back(std::move(c));
    return out;
}

Summary run_cases(const std::vector<Case>& cases, Env& env, const std::string& filter,
                  const std::function<void(const Outcome&)>& on_result) {
    std::regex re;
    try {
        re = std::regex(filter.empty() ? std::string(".*") : filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        throw core::Error(core::ErrorKind::USAGE, "--filter '" + filter + "' is not a valid regular expression: " + e.what());
    }
    Summary s;
    for (const Case& c : cases) {
        const std::string id = c.id();
        if (!std::regex_search(id, re)) continue;
        Outcome o{id, {}};
        const auto t0 = std::chrono::steady_clock::now();
        try {
            o.result = c.run(env);
        } catch (const std::exception& e) {
            // A failure of the backend under test (compute error, bad status) or of the harness: never a pass.
            o.result = Result::fail(std::string("error: ") + e.what());
        }
        o.result.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        switch (o.result.status) {
            case Status::PASS: ++s.passed; break;
            case Status::FAIL: ++s.failed; break;
            case Status::SKIP: ++s.skipped; break;
        }
        if (on_result) on_result(o);
        s.outcomes.push_back(std::move(o));
    }
    return s;
}

std::string format_line(const Outcome& o) {
    return fmt::format("{}  {:<72} {:>8.1f} ms  {}", status_name(o.result.status), o.id, o.result.ms, o.result.detail);
}

std::string format_totals(const Summary& s) {
    return fmt::format("{} passed, {} failed, {} skipped ({} cases)", s.passed, s.failed, s.skipped, s.outcomes.size());
}

std::string format_json(const Summary& s, const Env& env) {
    nlohmann::json cases = nlohmann::json::array();
    for (auto& o : s.outcomes) {
        nlohmann::json j = {{"id", o.id}, {"status", status_name(o.result.status)}, {"detail", o.result.detail},
                            {"ms", o.result.ms}};
        if (o.result.status != Status::SKIP) {
            j["error"] = std::isfinite(o.result.error) ? nlohmann::json(o.result.error) : nlohmann::json("inf");
            j["threshold"] = o.result.threshold;
        }
        cases.push_back(std::move(j));
    }
    nlohmann::json kv = env.kv_plugins();
    nlohmann::json out = {{"backend", env.backend}, {"kv", kv},           {"passed", s.passed},
                          {"failed", s.failed},     {"skipped", s.skipped}, {"cases", std::move(cases)}};
    return out.dump(2);
}

}  // namespace aprhost::conformance
