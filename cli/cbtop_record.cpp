#include "cbtop_record.hpp"

#include <fmt/format.h>

namespace aprhost::cli::cbtop {

namespace {

using Json = nlohmann::ordered_json;  // keys stay in the documented order

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

uint64_t free_of(uint64_t total, uint64_t used) { return total > used ? total - used : 0; }

}  // namespace

std::string format_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

nlohmann::ordered_json backend_json(const BackendSnapshot& b) {
    Json ops = Json::array(), layers = Json::array();
    for (const auto& o : b.ops.ops) ops.push_back({{"op", o.op}, {"ms", o.ms}, {"share", o.share}, {"count", o.count}});
    for (const auto& l : b.ops.layers) layers.push_back({{"layer", l.layer}, {"ms", l.ms}, {"share", l.share}});
    const auto& m = b.memory;
    const auto& sp = b.speculative;
    return {
        {"backend", b.backend},
        {"device", b.device},
        {"status", b.status},
        {"reason", b.reason},
        {"tok_s_instant", b.tok_s_instant},
        {"tok_s_avg", b.tok_s_avg},
        {"decode_tok_s", b.decode_tok_s},
        {"tokens", b.tokens_total},
        {"decode_steps", b.decode_steps},
        {"prompts", b.prompts},
        {"prompt_tokens", b.prompt_tokens},
        {"prompt_tokens_cached", b.prompt_tokens_cached},
        {"ttft_ms_last", opt(b.ttft_ms_last)},
        {"ttft_ms_mean", opt(b.ttft_ms_mean)},
        {"ttft_ms_min", opt(b.ttft_ms_min)},
        {"prefill_tok_s", b.prefill_tok_s},
        {"busy_s", b.busy_s},
        {"profile",
         {{"available", b.can_profile},
          {"interval_s", b.profile_interval_s},
          {"profiled_steps", b.profiled_steps},
          {"averaged_steps", b.ops.steps},
          {"profiled_step_ms", opt(b.profiled_step_ms_last)},
          {"decode_step_ms", opt(b.decode_step_ms_mean)},
          {"node_ms", b.ops.node_ms},
          {"step_ms", b.ops.step_ms},
          {"ops", ops},
          {"layers", layers}}},
        {"memory",
         {{"device_bytes", m.device_bytes}, {"device_total_bytes", m.device_total},
          {"device_weight_bytes", m.device_weight_bytes}}},
        {"kv",
         {{"plugin", m.kv_plugin},
          {"bytes", m.kv_bytes},
          {"slots_total", m.kv_slots_total},
          {"slots_used", m.kv_slots_used},
          {"slots_free", free_of(m.kv_slots_total, m.kv_slots_used)},
          {"blocks_total", m.kv_blocks_total},
          {"blocks_used", m.kv_blocks_used},
          {"blocks_free", free_of(m.kv_blocks_total, m.kv_blocks_used)},
          {"evictions", m.kv_evictions}}},
        {"speculative",
         {{"available", sp.available},
          {"drafted", sp.drafted},
          {"accepted", sp.accepted},
          {"acceptance_rate", opt(sp.acceptance_rate())},
          {"note", sp.available ? "" : kNoSpeculativeNote}}}};
}

nlohmann::ordered_json frame_json(const Frame& f) {
    Json backends = Json::array();
    for (const auto& b : f.backends) backends.push_back(backend_json(b));
    // The first backend's headline numbers at the top level, for scripts that watch one backend.
    const BackendSnapshot* p = f.backends.empty() ? nullptr : &f.backends.front();
    return {{"record", f.seq},
            {"t_s", f.t_s},
            {"state", f.paused ? "paused" : "running"},
            {"model", f.model},
            {"tok_s_instant", p ? p->tok_s_instant : 0.0},
            {"tok_s_avg", p ? p->tok_s_avg : 0.0},
            {"ttft_ms", p ? opt(p->ttft_ms_last) : Json(nullptr)},
            {"tokens", p ? p->tokens_total : 0},
            {"rss_bytes", f.rss_bytes},
            {"peak_rss_bytes", f.peak_rss_bytes},
            {"backends", backends}};
}

std::string frame_line(const Frame& f) {
    std::string line = fmt::format("t={:.1f}s{}", f.t_s, f.paused ? " [paused]" : "");
    for (const auto& b : f.backends) {
        if (b.status != "running") {
            line += fmt::format(" | {} {}: {}", b.backend, b.status, b.reason);
            continue;
        }
        line += fmt::format(" | {} {:.1f} tok/s (avg {:.1f}) TTFT {} | {} tok, {} prompts", b.backend, b.tok_s_instant,
                            b.tok_s_avg, b.ttft_ms_last ? fmt::format("{:.1f} ms", *b.ttft_ms_last) : "n/a",
                            b.tokens_total, b.prompts);
        if (!b.ops.ops.empty())
            line += fmt::format(" | {} {:.0f}% of {:.2f} ms", b.ops.ops.front().op, 100 * b.ops.ops.front().share,
                                b.ops.node_ms);
        if (b.memory.valid)
            line += fmt::format(" | KV {}/{} slots", b.memory.kv_slots_used, b.memory.kv_slots_total);
        const auto rate = b.speculative.acceptance_rate();
        line += rate ? fmt::format(" | spec {:.0f}%", 100 * *rate) : std::string(" | spec n/a");
    }
    line += fmt::format(" | RSS {} (peak {})", format_bytes(f.rss_bytes), format_bytes(f.peak_rss_bytes));
    return line;
}

}  // namespace aprhost::cli::cbtop
