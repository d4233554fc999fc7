// The cbtop screen layout without a terminal: bars, what each section shows, and that any terminal size gets at
// most its rows and columns with the key help on the last row.
#include "cbtop_view.hpp"

#include <catch2/catch.hpp>

#include <aprhost/abi.h>

using namespace aprhost::cli::cbtop;

namespace {

Frame sample_frame(bool with_second_backend) {
    BackendMetrics m("cpu-avx2", "AMD EPYC (2 threads)", true);
    m.on_prefill(0.1, 0.1, 12);
    for (int i = 1; i <= 20; ++i) m.on_decode(0.1 + i * 0.01, 0.01, i == 5);
    aprhost::core::StepProfile p;
    p.step_ns = 10'000'000;
    for (int l = 0; l < 30; ++l) {
        const std::string base = "blk." + std::to_string(l);
        p.nodes.push_back({base + ".attn_q", APH_OP_MUL_MAT, 250'000, 0, 0, 0});
        p.nodes.push_back({base + ".attn", APH_OP_ATTENTION, 20'000, 0, 0, 0});
    }
    p.nodes.push_back({"output", APH_OP_MUL_MAT, 1'000'000, 0, 0, 0});
    m.on_profile(p);
    MemorySample mem;
    mem.valid = true;
    mem.kv_plugin = "contiguous";
    mem.kv_slots_total = 141, mem.kv_slots_used = 33, mem.kv_blocks_total = 1, mem.kv_blocks_used = 1;
    m.on_memory(mem);
    Frame f;
    f.seq = 1;
    f.t_s = 0.31;
    f.model = "/x/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    f.rss_bytes = 120 << 20, f.peak_rss_bytes = 130 << 20;
    f.backends.push_back(m.snapshot(0.31));
    if (with_second_backend) f.backends.push_back(unavailable_snapshot("vulkan", "no backend plugin named 'vulkan'"));
    return f;
}

bool any_line_has(const std::vector<ScreenLine>& lines, const std::string& s) {
    for (auto& l : lines)
        if (l.text.find(s) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("bars scale with the share and show every non-zero share", "[cbtop][view]") {
    CHECK(bar(0.5, 10) == "#####");
    CHECK(bar(1.0, 10) == "##########");
    CHECK(bar(3.0, 10).size() == 10);
    CHECK(bar(0.001, 10) == "#");
    CHECK(bar(0.0, 10).empty());
    CHECK(bar(0.5, 0).empty());
}

TEST_CASE("a 120x40 screen shows throughput, TTFT, memory, KV, speculative, op and layer bars", "[cbtop][view]") {
    const auto f = sample_frame(true);
    const auto lines = layout_screen(f, {}, 120, 40);
    REQUIRE(lines.size() == 40);
    for (auto& l : lines) CHECK(l.text.size() <= 120);
    CHECK(lines.front().style == LineStyle::TITLE);
    CHECK(lines.front().text.find("SmolLM2-135M-Instruct.Q4_1.gguf") != std::string::npos);
    CHECK(lines.back().text.find("[q] quit") != std::string::npos);
    CHECK(lines.back().text.find("[b] next backend") != std::string::npos);  // two backends
    CHECK(any_line_has(lines, "tok/s"));
    CHECK(any_line_has(lines, "TTFT        last 100.0 ms"));
    CHECK(any_line_has(lines, "slots 33 used / 108 free of 141"));
    CHECK(any_line_has(lines, "n/a (no speculative decoding in this build)"));
    CHECK(any_line_has(lines, "MEASURED by the backend (graph_profile) on 1 sampled step every 1 s"));
    CHECK(any_line_has(lines, "vulkan"));
    CHECK(any_line_has(lines, "no backend plugin named 'vulkan'"));
    // The op rows carry '#' bars where the layout says; mul_mat's is the longest.
    size_t mul_mat_bar = 0, attention_bar = 0;
    for (auto& l : lines) {
        for (auto& [pos, len] : l.bars) {
            REQUIRE(pos + len <= l.text.size());
            CHECK(l.text.substr(pos, len) == std::string(len, '#'));
        }
        if (l.text.find("  mul_mat") == 0 && !l.bars.empty()) mul_mat_bar = l.bars[0].second;
        if (l.text.find("  attention") == 0 && !l.bars.empty()) attention_bar = l.bars[0].second;
    }
    CHECK(mul_mat_bar > 10 * attention_bar);
    CHECK(any_line_has(lines, "L29"));
    CHECK(any_line_has(lines, "out"));
}

TEST_CASE("small terminals get truncated lines and keep the key help", "[cbtop][view]") {
    const auto f = sample_frame(false);
    for (auto [cols, rows] : {std::pair{60, 10}, std::pair{20, 3}, std::pair{200, 80}}) {
        const auto lines = layout_screen(f, {}, cols, rows);
        REQUIRE(lines.size() == size_t(rows));
        for (auto& l : lines) {
            CHECK(l.text.size() <= size_t(cols));
            for (auto& [pos, len] : l.bars) CHECK(pos + len <= l.text.size());
        }
        CHECK(lines.back().text.find(" [q]") == 0);
        CHECK(lines.back().text.find("[b]") == std::string::npos);  // one backend
    }
}

TEST_CASE("the selected backend's details are shown, paused state is visible", "[cbtop][view]") {
    auto f = sample_frame(true);
    f.paused = true;
    ViewState st;
    st.selected = 1;
    const auto lines = layout_screen(f, st, 120, 40);
    CHECK(lines.front().text.find("PAUSED") != std::string::npos);
    CHECK(lines.front().text.find("vulkan") != std::string::npos);
    CHECK(any_line_has(lines, "> vulkan"));
    CHECK(any_line_has(lines, "Per-op time: n/a (backend unavailable)"));
}
