// Facts about the machine and this process that measurement tools record next to their numbers.
#pragma once

#include <cstdint>
#include <string>

namespace aprhost::core {

std::string cpu_model_name();    // "model name" of /proc/cpuinfo; "unknown" when absent
unsigned logical_cpu_count();    // std::thread::hardware_concurrency, at least 1
uint64_t peak_rss_bytes();       // VmHWM of /proc/self/status, else getrusage's ru_maxrss
uint64_t current_rss_bytes();    // VmRSS of /proc/self/status; 0 when unavailable

}  // namespace aprhost::core
