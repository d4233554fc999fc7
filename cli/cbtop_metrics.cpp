#include "cbtop_metrics.hpp"

#include <aprhost/core/step_graph.hpp>

#include <algorithm>
#include <map>

namespace aprhost::cli::cbtop {

// ---------------------------------------------------------------------------------------------------- RateWindow

void RateWindow::add(const StepEvent& e) {
    recent_.push_back(e);
    tokens_ += e.tokens;
    busy_s_ += e.dur_s;
}

void RateWindow::prune(double now_s) const {
    while (!recent_.empty() && recent_.front().t_end_s <= now_s - window_s_) recent_.pop_front();
}

double RateWindow::instant(double now_s) const {
    prune(now_s);
    uint64_t tokens = 0;
    double busy = 0;
    // Events are appended in time order, but a caller may ask about a moment before the newest ones (a snapshot
    // taken while the driver runs ahead): only the steps finished by now_s count.
    for (const auto& e : recent_)
        if (e.t_end_s <= now_s) tokens += e.tokens, busy += e.dur_s;
    return busy > 0 ? double(tokens) / busy : 0.0;
}

// ------------------------------------------------------------------------------------------- aggregate_profiles

OpBreakdown aggregate_profiles(std::span<const core::StepProfile> steps) {
    OpBreakdown out;
    out.steps = steps.size();
    if (steps.empty()) return out;
    struct Acc {
        uint64_t ns = 0, count = 0;
    };
    std::map<std::string, Acc> by_op;
    std::map<int, Acc> by_layer;
    uint64_t node_ns = 0, step_ns = 0;
    for (const auto& s : steps) {
        step_ns += s.step_ns;
        for (const auto& n : s.nodes) {
            auto& o = by_op[core::op_name(n.op)];
            o.ns += n.ns, ++o.count;
            auto& l = by_layer[core::layer_of(n.name)];
            l.ns += n.ns, ++l.count;
            node_ns += n.ns;
        }
    }
    const double k = double(steps.size());
    auto share = [&](uint64_t ns) { return node_ns > 0 ? double(ns) / double(node_ns) : 0.0; };
    out.node_ms = double(node_ns) / k / 1e6;
    out.step_ms = double(step_ns) / k / 1e6;
    for (auto& [op, a] : by_op) out.ops.push_back({op, double(a.ns) / k / 1e6, share(a.ns), double(a.count) / k});
    std::stable_sort(out.ops.begin(), out.ops.end(), [](const OpRow& a, const OpRow& b) { return a.ms > b.ms; });
    for (auto& [layer, a] : by_layer) out.layers.push_back({layer, double(a.ns) / k / 1e6, share(a.ns)});
    return out;
}

// ----------------------------------------------------------------------------------------------- BackendMetrics

BackendMetrics::BackendMetrics(std::string backend, std::string device, bool can_profile, const MetricsConfig& cfg)
    : backend_(std::move(backend)), device_(std::move(device)), can_profile_(can_profile), cfg_(cfg),
      rate_(cfg.window_s) {}

void BackendMetrics::on_prefill(double t_end_s, double dur_s, uint32_t prompt_tokens, uint32_t cached) {
    rate_.add({t_end_s, dur_s, 1, true, false});
    const double ms = dur_s * 1e3;
    ttft_min_ = prompts_ == 0 ? ms : std::min(ttft_min_, ms);
    ++prompts_;
    ttft_last_ = ms;
    ttft_sum_ += ms;
    prompt_tokens_ = prompt_tokens;
    prompt_cached_ = cached;
    prefill_tok_s_ = dur_s > 0 ? double(prompt_tokens) / dur_s : 0.0;
}

void BackendMetrics::on_decode(double t_end_s, double dur_s, bool profiled) {
    rate_.add({t_end_s, dur_s, 1, false, profiled});
    ++decode_steps_;
    decode_s_ += dur_s;
    if (profiled) {
        ++profiled_;
        profiled_step_ms_last_ = dur_s * 1e3;
    } else {
        ++plain_decode_steps_;
        plain_decode_s_ += dur_s;
    }
}

void BackendMetrics::on_profile(core::StepProfile profile) {
    profiles_.push_back(std::move(profile));
    const size_t keep = std::max<size_t>(cfg_.profile_keep, 1);
    if (profiles_.size() > keep) profiles_.erase(profiles_.begin(), profiles_.end() - long(keep));
}

BackendSnapshot BackendMetrics::snapshot(double now_s) const {
    BackendSnapshot s;
    s.backend = backend_;
    s.device = device_;
    s.status = status_;
    s.reason = reason_;
    s.tok_s_instant = rate_.instant(now_s);
    s.tok_s_avg = rate_.average();
    s.decode_tok_s = decode_s_ > 0 ? double(decode_steps_) / decode_s_ : 0.0;
    s.tokens_total = rate_.tokens();
    s.decode_steps = decode_steps_;
    s.prompts = prompts_;
    s.prompt_tokens = prompt_tokens_;
    s.prompt_tokens_cached = prompt_cached_;
    if (prompts_ > 0) {
        s.ttft_ms_last = ttft_last_;
        s.ttft_ms_mean = ttft_sum_ / double(prompts_);
        s.ttft_ms_min = ttft_min_;
    }
    s.prefill_tok_s = prefill_tok_s_;
    s.busy_s = rate_.busy_s();
    s.can_profile = can_profile_;
    s.profile_interval_s = can_profile_ ? cfg_.profile_interval_s : 0.0;
    s.profiled_steps = profiled_;
    s.profiled_step_ms_last = profiled_step_ms_last_;
    if (plain_decode_steps_ > 0) s.decode_step_ms_mean = plain_decode_s_ / double(plain_decode_steps_) * 1e3;
    s.ops = aggregate_profiles(profiles_);
    s.memory = memory_;
    return s;
}

BackendSnapshot unavailable_snapshot(const std::string& backend, const std::string& reason) {
    BackendSnapshot s;
    s.backend = backend;
    s.status = "unavailable";
    s.reason = reason;
    return s;
}

}  // namespace aprhost::cli::cbtop
