// See cuda_probe.hpp: the half that asks the CUDA runtime.
#include "cuda_probe.hpp"

#include <cuda_runtime_api.h>

namespace aprhost::cuda {

ProbeFacts probe_cuda() {
    ProbeFacts f;
    // Each call's status matters only through the facts it leaves; none of them can crash without a driver.
    if (cudaDriverGetVersion(&f.driver_version) != cudaSuccess) f.driver_version = 0;
    if (cudaRuntimeGetVersion(&f.runtime_version) != cudaSuccess) f.runtime_version = 0;
    const cudaError_t e = cudaGetDeviceCount(&f.device_count);
    f.count_error = static_cast<int>(e);
    const char* name = cudaGetErrorName(e);
    f.count_error_name = name ? name : "cudaError?";
    if (e != cudaSuccess) {
        f.device_count = 0;
        (void)cudaGetLastError();  // leave no error behind for the host's next CUDA user
        return f;
    }
    if (f.device_count > 0) {
        cudaDeviceProp prop{};
        const cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
        if (pe != cudaSuccess) {
            f.count_error = static_cast<int>(pe);
            const char* pn = cudaGetErrorName(pe);
            f.count_error_name = std::string("cudaGetDeviceProperties: ") + (pn ? pn : "?");
            (void)cudaGetLastError();
            return f;
        }
        f.name = prop.name;
        f.cc_major = prop.major;
        f.cc_minor = prop.minor;
        f.memory_total = prop.totalGlobalMem;
    }
    return f;
}

}  // namespace aprhost::cuda
