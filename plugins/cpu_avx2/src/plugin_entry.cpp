// The exported entry points of one cpu backend variant. This file is compiled once per plugin target with
// APRHOST_CPU_VARIANT_AVX2 defined (avx2) or not (scalar); everything else is shared.
#include "cpu_backend.hpp"

#include <aprhost/plugin.hpp>

#include <string>

namespace aprhost::cpu {
namespace {

#if defined(APRHOST_CPU_VARIANT_AVX2)
const CpuVariant kVariant{"avx2", &kernels_avx2};
#define APRHOST_CPU_VARIANT_NAME "avx2"
#define APRHOST_CPU_DESCRIPTION "CPU backend: AVX2/FMA/F16C integer-dot kernels, zero-copy mmap weights, thread pool"
#else
const CpuVariant kVariant{"scalar", nullptr};
#define APRHOST_CPU_VARIANT_NAME "scalar"
#define APRHOST_CPU_DESCRIPTION "CPU backend: portable C++ kernels (fallback for CPUs without AVX2)"
#endif

class CpuBackendPlugin : public CpuBackend {
public:
    CpuBackendPlugin(const aph_host_services* host, const sdk::Options& opts) : CpuBackend(host, opts, kVariant) {}

    // The host picks the highest score: avx2 (20) over scalar (10); avx2 says 0 where it cannot run.
    static uint32_t score(std::string& reason) {
#if defined(APRHOST_CPU_VARIANT_AVX2)
        if (!cpu_has_avx2_fma_f16c()) {
            reason = "CPU lacks AVX2/FMA/F16C";
            return 0;
        }
        reason = "AVX2/FMA/F16C kernels";
        return 20;
#else
        reason = "portable fallback";
        return 10;
#endif
    }
};

}  // namespace
}  // namespace aprhost::cpu

APRHOST_DECLARE_PLUGIN(BACKEND, aprhost::cpu::CpuBackendPlugin, "cpu", APRHOST_CPU_VARIANT_NAME, "0.1.0",
                       APRHOST_CPU_DESCRIPTION)
