#include "output.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace aprhost::cli {

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

void progress_bar(const std::string& label, uint64_t done, uint64_t total) {
    if (!isatty(STDERR_FILENO) || total == 0) return;
    const int width = 30;
    int filled = int(double(done) / double(total) * width);
    if (filled > width) filled = width;
    std::string bar(size_t(filled), '#');
    bar.append(size_t(width - filled), ' ');
    fmt::print(stderr, "\r[{}] {:3d}% {}", bar, int(100.0 * double(done) / double(total)), label);
    std::fflush(stderr);
}

void progress_done() {
    if (isatty(STDERR_FILENO)) fmt::print(stderr, "\n");
}

}  // namespace aprhost::cli
