// See cuda_probe.hpp: the policy half (no CUDA calls; tests/cuda compiles this file on its own).
#include "cuda_probe.hpp"

namespace aprhost::cuda {

std::string cuda_version_string(int v) {
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

uint32_t score_from_facts(const ProbeFacts& f, std::string& reason) {
    const std::string code = f.count_error_name + " (" + std::to_string(f.count_error) + ")";
    const std::string runtime = "CUDA " + cuda_version_string(f.runtime_version);
    // Error values are those of cuda_runtime_api.h (stable across CUDA releases).
    constexpr int kInsufficientDriver = 35, kNoDevice = 100, kStubLibrary = 34;
    if (f.count_error == kInsufficientDriver) {
        if (f.driver_version == 0)
            reason = "no NVIDIA driver: cudaGetDeviceCount returned " + code +
                     " and no driver version is reported (libcuda.so.1 not found)";
        else
            reason = "NVIDIA driver too old: it supports CUDA " + cuda_version_string(f.driver_version) +
                     ", this plugin's runtime is " + runtime + " (" + code + ")";
        return 0;
    }
    if (f.count_error == kNoDevice) {
        reason = "no CUDA device: the NVIDIA driver (CUDA " + cuda_version_string(f.driver_version) +
                 ") found no GPU (" + code + ")";
        return 0;
    }
    if (f.count_error == kStubLibrary) {
        reason = "the CUDA driver library is the toolkit's stub (lib/stubs on the library path): " + code;
        return 0;
    }
    if (f.count_error != 0) {
        reason = "CUDA is unusable here: cudaGetDeviceCount returned " + code + " (driver CUDA " +
                 cuda_version_string(f.driver_version) + ", runtime " + runtime + ")";
        return 0;
    }
    if (f.device_count <= 0) {
        reason = "no CUDA device: cudaGetDeviceCount reported 0 devices";
        return 0;
    }
    const std::string cc = std::to_string(f.cc_major) + "." + std::to_string(f.cc_minor);
    if (f.cc_major < kMinCcMajor || (f.cc_major == kMinCcMajor && f.cc_minor < kMinCcMinor)) {
        reason = "device 0 '" + f.name + "' has compute capability " + cc + "; this build needs " +
                 std::to_string(kMinCcMajor) + "." + std::to_string(kMinCcMinor) + " or newer";
        return 0;
    }
    reason = f.name + ", compute capability " + cc + ", " + std::to_string(f.memory_total >> 20) + " MiB, driver CUDA " +
             cuda_version_string(f.driver_version) + ", runtime " + runtime;
    if (f.device_count > 1) reason += ", " + std::to_string(f.device_count) + " devices";
    return kCudaScore;
}

}  // namespace aprhost::cuda
