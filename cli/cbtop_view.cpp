#include "cbtop_view.hpp"

#include "cbtop_record.hpp"

#include <aprhost/core/error.hpp>

#include <fmt/format.h>

#include <curses.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace aprhost::cli::cbtop {

std::string bar(double share, int width) {
    if (width <= 0 || !(share > 0)) return {};
    int n = int(std::lround(std::min(share, 1.0) * width));
    return std::string(size_t(std::clamp(n, 1, width)), '#');
}

namespace {

std::string ms_or_na(const std::optional<double>& v) { return v ? fmt::format("{:.1f} ms", *v) : "n/a"; }

class Builder {
public:
    void add(std::string text, LineStyle style = LineStyle::TEXT) { lines.push_back({std::move(text), style, {}}); }
    // A label, then a bar of `share` in `width` columns, then a suffix.
    void add_bar(const std::string& label, double share, int width, const std::string& suffix) {
        ScreenLine l;
        l.text = label;
        std::string b = bar(share, width);
        l.bars.push_back({l.text.size(), b.size()});
        l.text += b + std::string(size_t(std::max(0, width - int(b.size()))), ' ') + suffix;
        lines.push_back(std::move(l));
    }
    std::vector<ScreenLine> lines;
};

void backend_table(Builder& b, const Frame& f, const ViewState& st) {
    b.add(fmt::format("{:<2}{:<14} {:<11} {:>10} {:>10} {:>10} {:>9} {:>8} {:>11} {:>13}", "", "Backends", "status",
                      "now tok/s", "avg tok/s", "decode t/s", "TTFT ms", "tokens", "device mem", "KV used/total"),
          LineStyle::HEADER);
    for (size_t i = 0; i < f.backends.size(); ++i) {
        const auto& s = f.backends[i];
        const char* mark = i == st.selected ? "> " : "  ";
        if (s.status == "unavailable") {
            b.add(fmt::format("{}{:<14} {:<11} {}", mark, s.backend, s.status, s.reason), LineStyle::DIM);
            continue;
        }
        std::string line = fmt::format(
            "{}{:<14} {:<11} {:>10.1f} {:>10.1f} {:>10.1f} {:>9} {:>8} {:>11} {:>13}", mark, s.backend,
            f.paused && s.status == "running" ? "paused" : s.status, s.tok_s_instant, s.tok_s_avg, s.decode_tok_s,
            s.ttft_ms_last ? fmt::format("{:.1f}", *s.ttft_ms_last) : "n/a", s.tokens_total,
            format_bytes(s.memory.device_bytes), fmt::format("{}/{}", s.memory.kv_slots_used, s.memory.kv_slots_total));
        if (s.status == "failed") line += "  " + s.reason;
        b.add(line);
    }
}

void op_section(Builder& b, const BackendSnapshot& s, int cols) {
    if (s.status == "unavailable") {
        b.add("Per-op time: n/a (backend unavailable)", LineStyle::HEADER);
        return;
    }
    if (!s.can_profile) {
        b.add("Per-op time: n/a (this backend has no graph_profile: per-node timing needs plugin ABI 1.1)", LineStyle::HEADER);
        return;
    }
    // Sampled, and said so: the per-node clocks slow the step they time, so only one step per interval runs them.
    b.add(fmt::format("Per-op time per decode step, MEASURED by the backend (graph_profile) on 1 sampled step every {:g} s",
                      s.profile_interval_s),
          LineStyle::HEADER);
    if (s.ops.steps == 0) {
        b.add("  waiting for the first profiled step ...", LineStyle::DIM);
        return;
    }
    b.add(fmt::format("  {} profiled, last {} averaged: nodes {:.3f} ms of a {:.3f} ms step; plain decode step {} (mean)",
                      s.profiled_steps, s.ops.steps, s.ops.node_ms, s.ops.step_ms, ms_or_na(s.decode_step_ms_mean)),
          LineStyle::DIM);
    const int width = std::max(10, cols - 48);
    for (const auto& o : s.ops.ops)
        b.add_bar(fmt::format("  {:<12} {:>8.3f} ms {:>5.1f}% {:>4.0f}x  ", o.op, o.ms, 100 * o.share, o.count),
                  o.share, width, "");
}

void layer_section(Builder& b, const BackendSnapshot& s, int cols) {
    if (s.ops.layers.empty()) return;
    b.add("Per-layer time per decode step (ms, share; bars relative to the largest; out = embedding, final norm, head)",
          LineStyle::HEADER);
    const int ncols = cols >= 120 ? 3 : cols >= 80 ? 2 : 1;
    const int cell = std::max(20, (cols - 2) / ncols);
    const int width = cell - 18;
    // Bars scaled to the largest layer so small differences stay visible; the share is printed too.
    double max_share = 0;
    for (const auto& l : s.ops.layers) max_share = std::max(max_share, l.share);
    const size_t n = s.ops.layers.size(), per_col = (n + size_t(ncols) - 1) / size_t(ncols);
    for (size_t r = 0; r < per_col; ++r) {
        ScreenLine line;
        line.text = "  ";
        for (int c = 0; c < ncols; ++c) {
            const size_t i = size_t(c) * per_col + r;
            if (i >= n) break;
            const auto& l = s.ops.layers[i];
            std::string label = l.layer < 0 ? "out" : fmt::format("L{:02}", l.layer);
            line.text += fmt::format("{:<4}{:>7.3f} {:>4.1f}% ", label, l.ms, 100 * l.share);
            std::string bb = bar(max_share > 0 ? l.share / max_share : 0, width);
            line.bars.push_back({line.text.size(), bb.size()});
            line.text += bb + std::string(size_t(std::max(0, width - int(bb.size()))), ' ') + " ";
        }
        b.lines.push_back(std::move(line));
    }
}

}  // namespace

std::vector<ScreenLine> layout_screen(const Frame& f, const ViewState& st, int cols, int rows) {
    Builder b;
    const size_t sel = f.backends.empty() ? 0 : std::min(st.selected, f.backends.size() - 1);
    const BackendSnapshot empty;
    const BackendSnapshot& s = f.backends.empty() ? empty : f.backends[sel];
    std::string title = fmt::format(" aprhost cbtop | {} | {} on {} | {} | t={:.1f}s", std::filesystem::path(f.model).filename().string(),
                                    s.backend, s.device, f.paused ? "PAUSED" : "running", f.t_s);
    if (st.duration_s > 0) title += fmt::format(" of {:g}s", st.duration_s);
    b.add(title, LineStyle::TITLE);
    b.add(fmt::format("Throughput  now {:.1f} tok/s   avg {:.1f} tok/s   decode-only {:.1f} tok/s   {} tokens, {} prompts",
                      s.tok_s_instant, s.tok_s_avg, s.decode_tok_s, s.tokens_total, s.prompts));
    b.add(fmt::format("TTFT        last {}   mean {}   min {}   (prompt {} tokens{}, prefill {:.1f} tok/s)",
                      ms_or_na(s.ttft_ms_last), ms_or_na(s.ttft_ms_mean), ms_or_na(s.ttft_ms_min), s.prompt_tokens,
                      s.prompt_tokens_cached ? fmt::format(", {} from the prefix cache", s.prompt_tokens_cached) : "",
                      s.prefill_tok_s));
    b.add(fmt::format("Memory      RSS {} (peak {})   device {} of {}   weights copied to device {}", format_bytes(f.rss_bytes),
                      format_bytes(f.peak_rss_bytes), format_bytes(s.memory.device_bytes),
                      format_bytes(s.memory.device_total), format_bytes(s.memory.device_weight_bytes)));
    const auto& m = s.memory;
    b.add(fmt::format("KV cache    {}: slots {} used / {} free of {}   blocks {} used / {} free of {}   {}   evictions {}",
                      m.kv_plugin.empty() ? "n/a" : m.kv_plugin, m.kv_slots_used,
                      m.kv_slots_total > m.kv_slots_used ? m.kv_slots_total - m.kv_slots_used : 0, m.kv_slots_total,
                      m.kv_blocks_used, m.kv_blocks_total > m.kv_blocks_used ? m.kv_blocks_total - m.kv_blocks_used : 0,
                      m.kv_blocks_total, format_bytes(m.kv_bytes), m.kv_evictions));
    const auto rate = s.speculative.acceptance_rate();
    b.add(fmt::format("Speculative drafted {}   accepted {}   acceptance {}", s.speculative.drafted, s.speculative.accepted,
                      rate ? fmt::format("{:.1f}%", 100 * *rate) : fmt::format("n/a ({})", kNoSpeculativeNote)));
    b.add("");
    backend_table(b, f, st);
    b.add("");
    op_section(b, s, cols);
    b.add("");
    layer_section(b, s, cols);

    // The key help stays on the last row whatever the height.
    std::vector<ScreenLine> out;
    const size_t body = rows > 1 ? size_t(rows - 1) : 0;
    for (size_t i = 0; i < b.lines.size() && i < body; ++i) out.push_back(std::move(b.lines[i]));
    while (out.size() < body) out.push_back({});
    out.push_back({fmt::format(" [q] quit  [p] pause/resume{}   tok/s = tokens per second of the backend's own step time",
                               f.backends.size() > 1 ? "  [b] next backend" : ""),
                   LineStyle::TITLE, {}});
    for (auto& l : out) {
        if (cols >= 0 && l.text.size() > size_t(cols)) l.text.resize(size_t(cols));
        for (auto& [pos, len] : l.bars) {
            pos = std::min(pos, l.text.size());
            len = std::min(len, l.text.size() - pos);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------- Terminal

Terminal::Terminal() {
    // newterm, not initscr: initscr exits the process on a terminal it cannot use; this reports it as an error.
    SCREEN* scr = newterm(nullptr, stdout, stdin);
    if (!scr) {
        const char* term = std::getenv("TERM");
        throw core::Error(core::ErrorKind::USAGE, fmt::format("cannot open the terminal (TERM={}); use --headless",
                                                              term ? term : "unset"));
    }
    screen_ = scr;
    set_term(scr);
    active_ = true;
    cbreak();    // keys without Enter; Ctrl-C still raises SIGINT (handled by the command)
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_GREEN, -1);
        init_pair(2, COLOR_BLACK, COLOR_CYAN);
        color_ = true;
    }
}

void Terminal::restore() {
    if (!active_) return;
    active_ = false;
    curs_set(1);
    endwin();
    delscreen(static_cast<SCREEN*>(screen_));
    screen_ = nullptr;
}

int Terminal::poll_key(int timeout_ms) {
    timeout(timeout_ms);
    const int ch = getch();
    if (ch == ERR) return kNoKey;
    return ch == KEY_RESIZE ? kResize : ch;
}

int Terminal::cols() const { return COLS; }
int Terminal::rows() const { return LINES; }

void Terminal::draw(const std::vector<ScreenLine>& lines) {
    erase();
    for (size_t i = 0; i < lines.size() && int(i) < LINES; ++i) {
        const auto& l = lines[i];
        int attr = A_NORMAL;
        if (l.style == LineStyle::TITLE) attr = color_ ? COLOR_PAIR(2) : A_REVERSE;
        if (l.style == LineStyle::HEADER) attr = A_BOLD;
        if (l.style == LineStyle::DIM) attr = A_DIM;
        if (l.style == LineStyle::TITLE) {
            attron(attr);
            mvhline(int(i), 0, ' ', COLS);
            attroff(attr);
        }
        size_t pos = 0;
        move(int(i), 0);
        auto put = [&](size_t from, size_t to, int a) {
            if (to <= from) return;
            attron(a);
            addnstr(l.text.c_str() + from, int(to - from));
            attroff(a);
        };
        for (const auto& [b, n] : l.bars) {
            put(pos, b, attr);
            put(b, b + n, color_ ? COLOR_PAIR(1) | A_BOLD : A_BOLD);
            pos = b + n;
        }
        put(pos, l.text.size(), attr);
    }
    refresh();
}

}  // namespace aprhost::cli::cbtop
