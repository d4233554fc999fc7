// The measurements behind `aprhost qa MODEL`: each gate runs the same core code as the tool that owns that check
// (bench: core/bench, profile's O(n) check: core::measure_context_cost, eval: core/perplexity, the KV invariant
// and cross-backend parity: the conformance library's model checks) on the user's model and returns a Gate.
// A gate never throws: an error inside it is its FAIL with the message.
#pragma once

#include "app_context.hpp"
#include "qa_report.hpp"

#include <aprhost/core/model.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace aprhost::cli::qa {

struct QaOptions {
    std::string model;
    std::vector<std::string> gates;   // selected, in run order (parse_gate_selection)
    std::vector<std::string> backends;  // parity: the first is the reference; empty = --backend, then every other
                                        // loaded backend (filled in by QaRunner)
    // golden
    std::string golden_prompt = "What is 2+2?";
    std::string golden_expect = "4";
    int golden_tokens = 32;
    // kv_invariant
    uint32_t kv_positions = 64;
    // throughput + bench_cv (one shared bench run)
    int prompt_tokens = 32, gen_tokens = 32, iterations = 5, warmup = 1;
    double min_tps = 1.0;
    double max_cv = 20.0;
    // context_ratio
    std::vector<int> contexts = {10, 100};
    int context_steps = 5;
    double max_context_ratio = 15.0;
    // perplexity
    std::string dataset;              // "" = default_dataset()
    int ppl_tokens = 1024, ppl_ctx = 512;  // stride = ctx / 2
    double ppl_threshold = 20.0;
};

// A text Debian ships on every system (base-files): /usr/share/common-licenses/GPL-3.
const char* default_dataset();

class QaRunner {
public:
    QaRunner(const AppContext& ctx, QaOptions options);
    ~QaRunner();

    // Runs the selected gates in order; on_gate sees each as it completes (progress printing).
    std::vector<Gate> run(const std::function<void(const Gate&)>& on_gate = {});

    // The environment record (tool_env.hpp) of the loaded model; null when it did not load.
    const nlohmann::json& environment() const { return environment_; }
    // The memory record (tool_env.hpp) after the gates; null when the model did not load.
    const nlohmann::json& memory() const { return memory_; }
    // The options as they ran (defaults filled in), for the JSON record.
    nlohmann::json config() const;

private:
    Gate loads();
    Gate golden();
    Gate kv_invariant();
    std::vector<Gate> parity();
    std::vector<Gate> bench();  // throughput and/or bench_cv from one run
    Gate context_ratio();
    Gate perplexity();
    bool wants(const std::string& gate) const;
    Gate no_model(const char* name, const char* seed_id) const;  // SKIP: the model did not load

    const AppContext& ctx_;
    QaOptions o_;
    std::shared_ptr<core::BackendContext> backend_;
    std::unique_ptr<core::Model> model_;
    std::string load_error_;
    nlohmann::json environment_, memory_;
};

}  // namespace aprhost::cli::qa
