// The plugin conformance suite as a plain C++ library (aprhost_conformance), independent of any test framework:
// the Catch2 target tests/conformance/conformance_test.cpp and the `aprhost conformance` command both run the
// same cases. A case is a small struct — a name, a printable vars() string and run() → PASS | FAIL | SKIP with a
// one-line detail and the error metric it measured. Backends are driven only through the C ABI (core wrappers
// over the plugin's vtable); an unsupported combination is a SKIP with the backend's reason, never a silent pass.
#pragma once

#include <aprhost/core/backend.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aprhost::conformance {

enum class Status { PASS, FAIL, SKIP };
const char* status_name(Status s);  // "PASS", "FAIL", "SKIP"

struct Result {
    Status status = Status::PASS;
    std::string detail;     // one line: what was measured, why it failed or was skipped
    double error = 0.0;     // the case's metric (NMSE, max abs diff, ratio); 0 when not applicable
    double threshold = 0.0; // the bound the metric was held to; 0 when not applicable
    double ms = 0.0;        // wall time of run()

    static Result pass(std::string d, double err = 0, double thr = 0) { return {Status::PASS, std::move(d), err, thr}; }
    static Result fail(std::string d, double err = 0, double thr = 0) { return {Status::FAIL, std::move(d), err, thr}; }
    static Result skip(std::string d) { return {Status::SKIP, std::move(d)}; }
};

// What the suite runs against. Owned by the caller; cases keep no state beyond the caches below.
struct Env {
    const core::PluginRegistry* registry = nullptr;
    std::string backend = "cpu";                       // backend under test: registry name ("cpu", "cpu-scalar")
    std::map<std::string, std::string> backend_options; // e.g. threads
    std::string reference_backend = "cpu";             // cross-backend oracle
    std::vector<std::string> kv;                       // KV plugins under test; empty = every loaded one
    std::map<std::string, std::string> kv_options;     // passed to the KV plugins under test
    std::string model_dir;                             // where synthetic models are written (cached by name)
    std::optional<std::string> smollm2;                // the real model when present
    std::string fixture_dir;                           // broken fixture plugins; "" = ABI cases SKIP
    uint32_t smollm2_positions = 128;                  // KV-invariant positions on SmolLM2

    // The backend context of the plugin under test, created on first use and shared by the op cases.
    std::shared_ptr<core::BackendContext> backend_context();
    // A synthetic tiny model (written into model_dir on first use).
    std::string synth_model(const std::string& arch, const std::string& quant);
    // KV plugin names under test (env.kv, or every loaded KV plugin).
    std::vector<std::string> kv_plugins() const;

private:
    std::shared_ptr<core::BackendContext> ctx_;
};

struct Case {
    std::string name;  // "op/mul_mat", "model/kv_invariant", "abi/wrong_major"
    std::string vars;  // "w=q4_K,k=768,m=67,n=5"
    std::function<Result(Env&)> run;
    std::string id() const { return vars.empty() ? name : name + "(" + vars + ")"; }
};

// The cases of each level.
// The cases of each level. Model cases depend on env (one case per KV plugin under test).
std::vector<Case> op_cases();
std::vector<Case> model_cases(const Env& env);
std::vector<Case> abi_cases();
std::vector<Case> all_cases(const Env& env);

// Model-level checks on any model file: the model cases run them on the synthetic models and SmolLM2, `aprhost qa`
// on the user's model. The backend under test is env.backend; a backend that cannot run a node of the model is a
// SKIP with its reason. Bounds from tolerances.hpp (Result::threshold says which one held).
// KV invariant: decode-with-cache logits of token n vs row n of one batched forward (n_tokens <= 256).
Result check_kv_invariant(Env& env, const std::string& model_path, const std::string& kv, uint32_t n_tokens);
// env.backend vs env.reference_backend on a real prompt plus the reference's greedy continuation: per-position
// logits NMSE and greedy agreement (near-ties excused).
Result check_cross_backend(Env& env, const std::string& model_path);

// The broken fixture plugins of this build tree (tests/conformance/fixtures), or "" when they were not built.
std::string default_fixture_dir();

struct Outcome {
    std::string id;
    Result result;
};

struct Summary {
    int passed = 0, failed = 0, skipped = 0;
    std::vector<Outcome> outcomes;
    bool ok() const { return failed == 0; }
};

// Runs the cases whose id matches filter (ECMAScript regex, searched; "" = all). Exceptions from a case become
// FAIL with their message. on_result (may be empty) sees each outcome as it completes (progress printing).
Summary run_cases(const std::vector<Case>& cases, Env& env, const std::string& filter,
                  const std::function<void(const Outcome&)>& on_result = {});

// One human line per case ("PASS  op/mul_mat(w=q4_K,…)  nmse 3.1e-05 ≤ 5e-04  detail") and a totals line.
std::string format_line(const Outcome& o);
std::string format_totals(const Summary& s);
// {"backend":…, "cases":[{"id","status","detail","error","threshold","ms"}], "passed":…, "failed":…, "skipped":…}
std::string format_json(const Summary& s, const Env& env);

}  // namespace aprhost::conformance
