// Facts about the machine the CPU backend runs on: CPU model name, physical cores, memory. Read from /proc and
// sysconf on Linux; every function has a portable fallback.
#pragma once

#include <cstdint>
#include <string>

namespace aprhost::cpu {

// "model name" of the first processor in /proc/cpuinfo ("AMD EPYC 7B13"), or "unknown CPU".
std::string host_cpu_model_name();

// Physical cores usable by this process: distinct (package, core) pairs among the CPUs in our affinity mask;
// falls back to the logical CPU count. Always ≥ 1.
int host_physical_cores();

// Total and available RAM in bytes (MemTotal / MemAvailable); 0 when unknown.
void host_memory(uint64_t& total, uint64_t& available);

}  // namespace aprhost::cpu
