// The terminal view of `aprhost cbtop`. Two halves: layout_screen() turns a Frame into lines of text for a given
// terminal size (pure, testable), and Terminal owns the ncurses session (init, draw, keys, resize, endwin).
#pragma once

#include "cbtop_metrics.hpp"

#include <string>
#include <utility>
#include <vector>

namespace aprhost::cli::cbtop {

enum class LineStyle { TEXT, TITLE, HEADER, DIM };

struct ScreenLine {
    std::string text;
    LineStyle style = LineStyle::TEXT;
    // Bars inside text as (byte offset, length); ASCII only: drawn highlighted.
    std::vector<std::pair<size_t, size_t>> bars;
};

struct ViewState {
    size_t selected = 0;      // backend whose details are shown
    double duration_s = 0;    // > 0: the run stops after this many seconds
};

// The screen for a cols × rows terminal (at most rows lines, each at most cols bytes).
std::vector<ScreenLine> layout_screen(const Frame& f, const ViewState& st, int cols, int rows);

// "#######" scaled: share (0..1) of width columns, at least one column for a non-zero share.
std::string bar(double share, int width);

// The ncurses session. The constructor puts the terminal in cbreak/no-echo mode on the alternate screen (throws
// core::Error(USAGE) when the terminal cannot be opened, e.g. an unknown TERM); the destructor (and restore(),
// idempotent) calls endwin, so every exit path gives the terminal back.
class Terminal {
public:
    Terminal();
    ~Terminal() { restore(); }
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    static constexpr int kNoKey = -1;
    static constexpr int kResize = -2;  // the terminal was resized (the new size is already in cols()/rows())
    // Waits up to timeout_ms for a key: the character, kNoKey or kResize.
    int poll_key(int timeout_ms);
    void draw(const std::vector<ScreenLine>& lines);
    int cols() const;
    int rows() const;
    void restore();

private:
    void* screen_ = nullptr;  // SCREEN* of newterm (kept opaque: no curses macros leak into users of this header)
    bool active_ = false;
    bool color_ = false;
};

}  // namespace aprhost::cli::cbtop
