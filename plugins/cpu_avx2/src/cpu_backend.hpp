// The CPU backend context ("cpu" plugin, variants avx2 and scalar): host-memory buffers, synchronous graph
// execution on a persistent thread pool, kernels from a dispatch table chosen once at creation.
//
// Options (aph_option key/values; unknown keys are rejected):
//   threads  = N             worker threads including the caller (default: physical cores of this process's
//                            CPU affinity mask; 1..256)
//   kernels  = auto|avx2|scalar
//                            kernel table (default auto: the best this variant and CPU support; "avx2" fails
//                            on the scalar variant or a CPU without AVX2/FMA/F16C). Useful to compare ISAs.
//   spin_us  = N             how long idle workers spin before sleeping, in microseconds (default 500;
//                            0..1000000). Higher keeps decode steps hot, lower frees the cores sooner.
//
// Buffers: buffer_alloc gives 64-byte aligned host memory (owned); buffer_import_host wraps caller memory, e.g. the
// mmap'ed weights, without a copy (never freed by us). buffer_map returns the host pointer of either kind.
// graph_compute runs the nodes in order before it returns, so synchronize() has nothing to wait for.
// graph_profile (ABI 1.1) is the same with a steady_clock reading around each node.
#pragma once

#include "ops.hpp"
#include "tensor_view.hpp"

#include <aprhost/abi.h>
#include <aprhost/plugin.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

namespace aprhost::cpu {

// What a plugin variant brings: its name and, for the avx2 variant, the AVX2 table getter.
struct CpuVariant {
    const char* name;                             // "avx2" or "scalar"
    const KernelTable& (*avx2_table)() = nullptr;  // null in the scalar variant
};

// True when the running CPU (and OS) support AVX2, FMA and F16C.
bool cpu_has_avx2_fma_f16c();

class CpuBackend {
public:
    CpuBackend(const aph_host_services* host, const sdk::Options& opts, const CpuVariant& variant);
    ~CpuBackend();
    CpuBackend(const CpuBackend&) = delete;
    CpuBackend& operator=(const CpuBackend&) = delete;

    aph_device_info device_info();
    aph_buffer_t buffer_alloc(uint64_t size);
    void buffer_free(aph_buffer_t buf);
    void buffer_upload(aph_buffer_t buf, uint64_t offset, const void* src, uint64_t size);
    void buffer_download(aph_buffer_t buf, uint64_t offset, void* dst, uint64_t size);
    void* buffer_map(aph_buffer_t buf);
    aph_buffer_t buffer_import_host(const void* ptr, uint64_t size);
    std::string unsupported_reason(const aph_graph& g, uint32_t node);
    void graph_compute(const aph_graph& g) { run_graph(g, nullptr); }
    // graph_compute with the wall time of each node (steady_clock around the node, all threads done).
    void graph_profile(const aph_graph& g, uint64_t* node_ns);
    void synchronize() {}
    aph_backend_stats stats();

    // For tests and logs: the ISA of the kernel table in use and the thread count.
    const char* kernels_isa() const { return env_->k.isa; }
    int threads() const { return env_->pool.size(); }

private:
    void run_graph(const aph_graph& g, uint64_t* node_ns);
    CpuBuffer* checked(aph_buffer_t buf, const char* what) const;
    void check_range(const CpuBuffer* b, uint64_t offset, uint64_t size, const char* what) const;

    const aph_host_services* host_;
    CpuVariant variant_;
    int spin_us_ = 500;
    std::unique_ptr<OpEnv> env_;
    std::unordered_set<CpuBuffer*> buffers_;
    uint64_t bytes_allocated_ = 0;
    uint64_t graphs_computed_ = 0;
    uint64_t nodes_computed_ = 0;
};

}  // namespace aprhost::cpu
