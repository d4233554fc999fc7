#include <aprhost/core/host_info.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <thread>

namespace aprhost::core {

namespace {
// "Key:   1234 kB" of /proc/self/status, in bytes; 0 when absent.
uint64_t status_kib_field(const std::string& key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind(key + ":", 0) != 0) continue;
        try {
            return uint64_t(std::stoull(line.substr(key.size() + 1))) * 1024;
        } catch (...) {
            return 0;
        }
    }
    return 0;
}
}  // namespace

std::string cpu_model_name() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        auto colon = line.find(':');
        if (colon == std::string::npos) break;
        auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "unknown" : line.substr(start);
    }
    return "unknown";
}

unsigned logical_cpu_count() { return std::max(1u, std::thread::hardware_concurrency()); }

uint64_t peak_rss_bytes() {
    if (uint64_t v = status_kib_field("VmHWM")) return v;
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) == 0) return uint64_t(ru.ru_maxrss) * 1024;  // KiB on Linux
    return 0;
}

uint64_t current_rss_bytes() { return status_kib_field("VmRSS"); }

}  // namespace aprhost::core
