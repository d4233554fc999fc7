// The cbtop metrics model on injected samples: instant vs average tok/s over windows, TTFT, the profiling schedule,
// op/layer aggregation of node timings, speculative counters and the JSON record's shape.
#include "cbtop_metrics.hpp"
#include "cbtop_record.hpp"

#include <aprhost/abi.h>

#include <catch2/catch.hpp>

#include <cmath>

using namespace aprhost::cli::cbtop;
using aprhost::core::NodeProfile;
using aprhost::core::StepProfile;

namespace {

NodeProfile node(const char* name, uint32_t op, uint64_t ns) {
    NodeProfile n;
    n.name = name;
    n.op = op;
    n.ns = ns;
    return n;
}

// A two-layer decode step; `scale` multiplies every time so steps can be told apart.
StepProfile step(uint64_t scale, uint64_t step_ns = 0) {
    StepProfile s;
    s.n_tokens = 1;
    s.nodes = {node("token_embd", APH_OP_GET_ROWS, 100 * scale),     node("blk.0.attn_q", APH_OP_MUL_MAT, 3000 * scale),
               node("blk.0.attn", APH_OP_ATTENTION, 1000 * scale),   node("blk.0.ffn_up", APH_OP_MUL_MAT, 2000 * scale),
               node("blk.1.attn_q", APH_OP_MUL_MAT, 3000 * scale),   node("blk.1.attn", APH_OP_ATTENTION, 1000 * scale),
               node("blk.1.ffn_up", APH_OP_MUL_MAT, 2000 * scale),   node("output", APH_OP_MUL_MAT, 900 * scale)};
    s.step_ns = step_ns ? step_ns : 15000 * scale;
    return s;
}

}  // namespace

TEST_CASE("instant tok/s follows the last window, average covers everything", "[cbtop][rate]") {
    RateWindow r(1.0);
    // Second 1: 100 decode steps of 10 ms. Second 2: 10 steps of 100 ms (the model slowed down).
    for (int i = 1; i <= 100; ++i) r.add({i * 0.01, 0.01, 1, false, false});
    CHECK(r.instant(1.0005) == Approx(100.0));  // off the 10 ms grid: no rounding at the window's edge
    CHECK(r.average() == Approx(100.0));
    for (int i = 1; i <= 10; ++i) r.add({1.0 + i * 0.1, 0.1, 1, false, false});
    CHECK(r.instant(2.0005) == Approx(10.0));  // only the slow steps are in the window
    CHECK(r.average() == Approx(55.0));      // 110 tokens over 2 busy seconds
    CHECK(r.tokens() == 110);
    CHECK(r.busy_s() == Approx(2.0));
    // Halfway through the slow second: 5 slow steps in the window, plus the fast ones that ended after 0.5.
    RateWindow h(1.0);
    for (int i = 1; i <= 100; ++i) h.add({i * 0.01, 0.01, 1, false, false});
    for (int i = 1; i <= 5; ++i) h.add({1.0 + i * 0.1, 0.1, 1, false, false});
    CHECK(h.instant(1.5005) == Approx((50.0 + 5.0) / (0.5 + 0.5)));
    // Nothing in the window (e.g. paused): 0, while the average keeps its value.
    CHECK(r.instant(5.0) == 0.0);
    CHECK(r.average() == Approx(55.0));
}

TEST_CASE("a shorter window reacts faster", "[cbtop][rate]") {
    RateWindow fast(0.25), slow(2.0);
    for (int i = 1; i <= 200; ++i) {
        const double t = i * 0.01, dur = t <= 1.5 ? 0.01 : 0.02;  // 100 tok/s, then 50 tok/s from t = 1.5
        fast.add({t, dur, 1, false, false});
        slow.add({t, dur, 1, false, false});
    }
    CHECK(fast.instant(2.0005) == Approx(50.0));
    CHECK(slow.instant(2.0005) > 55.0);  // still remembers the fast part
    CHECK(slow.instant(2.0005) < 100.0);
}

TEST_CASE("a snapshot taken before newer events ignores them", "[cbtop][rate]") {
    RateWindow r(1.0);
    r.add({0.5, 0.01, 1, false, false});
    r.add({0.9, 0.01, 1, false, false});
    r.add({1.2, 0.5, 1, false, false});
    CHECK(r.instant(1.0) == Approx(2.0 / 0.02));
}

TEST_CASE("prefill steps give TTFT, count their first token and dip the rate", "[cbtop][ttft]") {
    BackendMetrics m("cpu-avx2", "test cpu", true);
    auto s0 = m.snapshot(0.0);
    CHECK_FALSE(s0.ttft_ms_last.has_value());
    CHECK(s0.prompts == 0);
    m.on_prefill(0.2, 0.2, 12);
    for (int i = 1; i <= 8; ++i) m.on_decode(0.2 + i * 0.1, 0.1);
    m.on_prefill(1.4, 0.4, 12);
    auto s = m.snapshot(1.45);
    CHECK(s.prompts == 2);
    REQUIRE(s.ttft_ms_last.has_value());
    CHECK(*s.ttft_ms_last == Approx(400.0));
    CHECK(*s.ttft_ms_mean == Approx(300.0));
    CHECK(*s.ttft_ms_min == Approx(200.0));
    CHECK(s.prompt_tokens == 12);
    CHECK(s.prompt_tokens_cached == 0);
    m.on_prefill(1.5, 0.05, 12, 8);  // a restart served mostly by the prefix cache
    CHECK(m.snapshot(1.5).prompt_tokens_cached == 8);
    CHECK(s.prefill_tok_s == Approx(30.0));  // 12 tokens in 0.4 s
    CHECK(s.tokens_total == 10);             // 2 first tokens + 8 decode tokens
    CHECK(s.decode_steps == 8);
    CHECK(s.decode_tok_s == Approx(10.0));   // decode steps only
    CHECK(s.tok_s_avg == Approx(10.0 / 1.4));
    CHECK(s.busy_s == Approx(1.4));
    // Window (0.45, 1.45]: decode steps ending at 0.5 .. 1.0 and the 0.4 s prefill.
    CHECK(s.tok_s_instant == Approx(7.0 / (6 * 0.1 + 0.4)));
}

TEST_CASE("profiled steps are counted apart from the plain decode step time", "[cbtop][profile]") {
    MetricsConfig cfg;
    cfg.profile_interval_s = 1.0;
    BackendMetrics m("cpu-avx2", "test cpu", true, cfg);
    m.on_decode(0.01, 0.010);
    m.on_decode(0.02, 0.010);
    m.on_decode(0.035, 0.015, true);
    auto s = m.snapshot(0.04);
    CHECK(s.profiled_steps == 1);
    REQUIRE(s.profiled_step_ms_last.has_value());
    CHECK(*s.profiled_step_ms_last == Approx(15.0));
    REQUIRE(s.decode_step_ms_mean.has_value());
    CHECK(*s.decode_step_ms_mean == Approx(10.0));  // the profiled step is not in the plain mean
    CHECK(s.profile_interval_s == 1.0);
    CHECK(s.can_profile);
    BackendMetrics none("vulkan", "gpu", false, cfg);
    CHECK(none.snapshot(0).profile_interval_s == 0.0);
    CHECK_FALSE(none.snapshot(0).can_profile);
}

TEST_CASE("the profiling schedule samples at most one step per interval", "[cbtop][profile]") {
    ProfileSchedule p(1.0);
    CHECK(p.due(0.0));
    p.mark(0.0);
    CHECK_FALSE(p.due(0.5));
    CHECK_FALSE(p.due(0.999));
    CHECK(p.due(1.0));
    p.mark(1.3);
    CHECK_FALSE(p.due(2.0));
    CHECK(p.due(2.31));
    // Simulate 10 s of 10 ms steps: about 10 profiled steps, not 1000.
    ProfileSchedule q(1.0);
    int profiled = 0;
    for (int i = 0; i < 1000; ++i) {
        const double t = i * 0.01;
        if (q.due(t)) q.mark(t), ++profiled;
    }
    CHECK(profiled == 10);
    ProfileSchedule off(0.0);
    CHECK_FALSE(off.due(0.0));
    CHECK_FALSE(off.due(100.0));
}

TEST_CASE("node timings aggregate by op kind and by layer, per step", "[cbtop][ops]") {
    std::vector<StepProfile> steps = {step(1), step(3)};  // mean scale 2
    auto b = aggregate_profiles(steps);
    CHECK(b.steps == 2);
    // Σ nodes of step(1) = 13000 ns; the mean of scale 1 and 3 is 26000 ns = 0.026 ms.
    CHECK(b.node_ms == Approx(0.026));
    CHECK(b.step_ms == Approx(0.030));
    REQUIRE(b.ops.size() == 3);
    CHECK(b.ops[0].op == "mul_mat");
    CHECK(b.ops[0].ms == Approx(2 * 10900 / 1e6));
    CHECK(b.ops[0].count == Approx(5.0));
    CHECK(b.ops[0].share == Approx(10900.0 / 13000.0));
    CHECK(b.ops[1].op == "attention");
    CHECK(b.ops[1].ms == Approx(2 * 2000 / 1e6));
    CHECK(b.ops[1].count == Approx(2.0));
    CHECK(b.ops[2].op == "get_rows");
    double share = 0;
    for (auto& o : b.ops) share += o.share;
    CHECK(share == Approx(1.0));
    REQUIRE(b.layers.size() == 3);
    CHECK(b.layers[0].layer == -1);  // embedding + output head
    CHECK(b.layers[0].ms == Approx(2 * 1000 / 1e6));
    CHECK(b.layers[1].layer == 0);
    CHECK(b.layers[1].ms == Approx(2 * 6000 / 1e6));
    CHECK(b.layers[2].layer == 1);
    CHECK(b.layers[2].share == Approx(6000.0 / 13000.0));
    CHECK(aggregate_profiles({}).ops.empty());
}

TEST_CASE("the breakdown averages only the most recent profiled steps", "[cbtop][ops]") {
    MetricsConfig cfg;
    cfg.profile_keep = 3;
    BackendMetrics m("cpu", "cpu", true, cfg);
    for (uint64_t k = 1; k <= 10; ++k) m.on_profile(step(k));
    auto s = m.snapshot(0);
    CHECK(s.ops.steps == 3);
    CHECK(s.ops.node_ms == Approx(13000.0 * 9 / 1e6));  // mean of scales 8, 9, 10
}

TEST_CASE("speculative decoding: no rate without drafts, the real ratio with them", "[cbtop][spec]") {
    SpeculativeStats none;
    CHECK_FALSE(none.acceptance_rate().has_value());
    SpeculativeStats idle{true, 0, 0};
    CHECK_FALSE(idle.acceptance_rate().has_value());
    SpeculativeStats some{true, 10, 7};
    REQUIRE(some.acceptance_rate().has_value());
    CHECK(*some.acceptance_rate() == Approx(0.7));
}

TEST_CASE("the JSON record carries every field with its type", "[cbtop][record]") {
    BackendMetrics m("cpu-avx2", "test cpu", true);
    m.on_prefill(0.1, 0.1, 5);
    m.on_decode(0.2, 0.1, true);
    m.on_profile(step(1));
    MemorySample mem;
    mem.valid = true;
    mem.kv_plugin = "paged";
    mem.kv_slots_total = 64, mem.kv_slots_used = 6, mem.kv_blocks_total = 4, mem.kv_blocks_used = 1;
    m.on_memory(mem);
    Frame f;
    f.seq = 3;
    f.t_s = 3.0;
    f.model = "m.gguf";
    f.rss_bytes = 1000, f.peak_rss_bytes = 2000;
    f.backends = {m.snapshot(0.2), unavailable_snapshot("vulkan", "no backend plugin named 'vulkan'")};
    const auto j = frame_json(f);
    CHECK(j["record"] == 3);
    CHECK(j["state"] == "running");
    CHECK(j["tok_s_avg"].get<double>() == Approx(10.0));
    CHECK(j["ttft_ms"].get<double>() == Approx(100.0));
    REQUIRE(j["backends"].size() == 2);
    const auto& b = j["backends"][0];
    CHECK(b["kv"]["slots_free"] == 58);
    CHECK(b["kv"]["blocks_free"] == 3);
    CHECK(b["profile"]["ops"][0]["op"] == "mul_mat");
    CHECK(b["profile"]["layers"].size() == 3);
    CHECK(b["speculative"]["acceptance_rate"].is_null());
    CHECK(b["speculative"]["drafted"] == 0);
    CHECK(b["speculative"]["note"] == kNoSpeculativeNote);
    const auto& u = j["backends"][1];
    CHECK(u["status"] == "unavailable");
    CHECK(u["ttft_ms_last"].is_null());
    // Same keys in every backend row (a stable schema for scripts).
    for (auto& [k, v] : b.items()) CHECK(u.contains(k));
    const std::string line = frame_line(f);
    CHECK(line.find("cpu-avx2 10.0 tok/s") != std::string::npos);
    CHECK(line.find("vulkan unavailable") != std::string::npos);
    CHECK(line.find("spec n/a") != std::string::npos);
}
