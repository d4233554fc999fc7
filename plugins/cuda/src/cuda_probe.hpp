// Can this machine run the CUDA plugin? probe_cuda() asks the CUDA runtime (driver version, device count, the
// first device's compute capability) and never throws or crashes; score_from_facts() turns those facts into the
// plugin's score and one precise reason. The policy is a pure function of plain values so tests/cuda checks every
// branch (no driver, driver too old, no device, old GPU, fine) on a machine without a GPU.
#pragma once

#include <cstdint>
#include <string>

namespace aprhost::cuda {

struct ProbeFacts {
    int driver_version = 0;    // cudaDriverGetVersion: CUDA version the driver supports (12080 = 12.8); 0 = none
    int runtime_version = 0;   // cudaRuntimeGetVersion of the (static) runtime this plugin carries
    int count_error = 0;       // cudaGetDeviceCount's cudaError_t (0 = cudaSuccess)
    std::string count_error_name;  // cudaGetErrorName of it
    int device_count = 0;
    // The first device, when device_count > 0:
    std::string name;
    int cc_major = 0, cc_minor = 0;
    uint64_t memory_total = 0;
};

// The lowest compute capability the kernels are built for (SASS for 8.0/8.9/9.0, PTX of 9.0 for newer chips).
inline constexpr int kMinCcMajor = 8;
inline constexpr int kMinCcMinor = 0;
// The score of a usable device: above the CPU plugins (20), though backends are chosen by name, not by score.
inline constexpr uint32_t kCudaScore = 100;

// "13.0" for 13000.
std::string cuda_version_string(int v);

// 0 with the reason why the plugin cannot run, or kCudaScore with a description of the device.
uint32_t score_from_facts(const ProbeFacts& f, std::string& reason);

// Queries the CUDA runtime. Safe without a driver or GPU (the runtime then reports an error code, not a crash).
ProbeFacts probe_cuda();

}  // namespace aprhost::cuda
