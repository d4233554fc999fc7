#include "host_cpu_info.hpp"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#if defined(__linux__)
#include <sched.h>
#endif

namespace aprhost::cpu {

namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Value of "key : value" lines.
bool split_field(const std::string& line, std::string& key, std::string& value) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) return false;
    key = trim(line.substr(0, colon));
    value = trim(line.substr(colon + 1));
    return true;
}

}  // namespace

std::string host_cpu_model_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line, key, value;
    while (std::getline(in, line))
        if (split_field(line, key, value) && key == "model name" && !value.empty()) return value;
    return "unknown CPU";
}

int host_physical_cores() {
    int logical = static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__)
    cpu_set_t mask;
    CPU_ZERO(&mask);
    const bool have_mask = sched_getaffinity(0, sizeof(mask), &mask) == 0;
    if (have_mask) logical = CPU_COUNT(&mask);
    // /proc/cpuinfo blocks: processor, physical id, core id.
    std::ifstream in("/proc/cpuinfo");
    std::set<std::pair<long, long>> cores;
    std::string line, key, value;
    long proc = -1, pkg = 0, core = -1;
    auto flush = [&] {
        if (proc >= 0 && core >= 0 && (!have_mask || (proc < CPU_SETSIZE && CPU_ISSET(proc, &mask))))
            cores.insert({pkg, core});
        proc = -1, pkg = 0, core = -1;
    };
    while (std::getline(in, line)) {
        if (trim(line).empty()) {
            flush();
            continue;
        }
        if (!split_field(line, key, value)) continue;
        if (key == "processor") proc = std::strtol(value.c_str(), nullptr, 10);
        else if (key == "physical id") pkg = std::strtol(value.c_str(), nullptr, 10);
        else if (key == "core id") core = std::strtol(value.c_str(), nullptr, 10);
    }
    flush();
    if (!cores.empty() && static_cast<int>(cores.size()) <= logical) return static_cast<int>(cores.size());
#endif
    return logical > 0 ? logical : 1;
}

void host_memory(uint64_t& total, uint64_t& available) {
    total = available = 0;
    std::ifstream in("/proc/meminfo");
    std::string line, key, value;
    while (std::getline(in, line)) {
        if (!split_field(line, key, value)) continue;
        const uint64_t kib = std::strtoull(value.c_str(), nullptr, 10);
        if (key == "MemTotal") total = kib * 1024;
        else if (key == "MemAvailable") available = kib * 1024;
    }
}

}  // namespace aprhost::cpu
