// See cuda_device.hpp.
#include "cuda_device.hpp"

#include "cuda_check.hpp"
#include "cuda_index_math.hpp"
#include "cuda_ops.hpp"
#include "cuda_probe.hpp"

#include <aprhost/plugin.hpp>

#include <cublasLt.h>

#include <cstdio>
#include <cstring>

#ifndef APRHOST_CUDA_ARCHS
#define APRHOST_CUDA_ARCHS "?"
#endif

namespace aprhost::cuda {

namespace {

// Any failure while setting the context up is a device error at the ABI, one line.
void setup_check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        throw sdk::Error(APH_STATUS_DEVICE, std::string("cuda: ") + what + " failed: " + cuda_error_text(e));
    }
}

int attribute(cudaDeviceAttr a, int device, const char* what) {
    int v = 0;
    setup_check(cudaDeviceGetAttribute(&v, a, device), what);
    return v;
}

}  // namespace

std::string describe_device_errors(unsigned bits) {
    std::string s;
    auto add = [&](const char* m) { s += (s.empty() ? "" : "; ") + std::string(m); };
    if (bits & DEVICE_ERROR_KV_SLOT) add("KV_STORE was given a cache slot outside the cache (row not written)");
    if (bits & DEVICE_ERROR_BLOCK_TABLE) add("ATTENTION block table points outside the KV cache (entry skipped)");
    if (bits & DEVICE_ERROR_N_KV) add("ATTENTION n_kv was smaller than the query count (output not written)");
    if (s.empty()) s = "unknown device error bits " + std::to_string(bits);
    return s;
}

DeviceContext::DeviceContext(int device) : device_(device) {
    const ProbeFacts facts = probe_cuda();
    std::string reason;
    if (score_from_facts(facts, reason) == 0) throw sdk::Error(APH_STATUS_DEVICE, "cuda: " + reason);
    if (device < 0 || device >= facts.device_count)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "cuda: device " + std::to_string(device) + " does not exist (" +
                                                          std::to_string(facts.device_count) + " found)");
    driver_version_ = facts.driver_version;
    runtime_version_ = facts.runtime_version;
    setup_check(cudaSetDevice(device), "cudaSetDevice");
    cudaDeviceProp prop{};
    setup_check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    name_ = prop.name;
    caps_.device = device;
    caps_.cc_major = attribute(cudaDevAttrComputeCapabilityMajor, device, "compute capability");
    caps_.cc_minor = attribute(cudaDevAttrComputeCapabilityMinor, device, "compute capability");
    caps_.n_sms = attribute(cudaDevAttrMultiProcessorCount, device, "multiprocessor count");
    caps_.shared_mem_per_block_optin =
        static_cast<size_t>(attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, device, "shared memory limit"));
    caps_.l2_bytes = static_cast<size_t>(attribute(cudaDevAttrL2CacheSize, device, "L2 size"));
    try {
        setup_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
        setup_check(cudaHostAlloc(reinterpret_cast<void**>(&error_word_host_), sizeof(unsigned), cudaHostAllocMapped),
                    "cudaHostAlloc (error word)");
        *error_word_host_ = 0;
        setup_check(cudaHostGetDevicePointer(reinterpret_cast<void**>(&error_word_dev_), error_word_host_, 0),
                    "cudaHostGetDevicePointer (error word)");
        cublasLtHandle_t lt = nullptr;
        const cublasStatus_t st = cublasLtCreate(&lt);
        if (st != CUBLAS_STATUS_SUCCESS)
            throw sdk::Error(APH_STATUS_DEVICE, std::string("cuda: cublasLtCreate failed: ") +
                                                    cublasLtGetStatusName(st) + " (" +
                                                    std::to_string(static_cast<int>(st)) + ")");
        lt_ = reinterpret_cast<cublasLtContext*>(lt);
        attention_prepare_device(caps_);
    } catch (const CudaError& e) {
        release();
        throw sdk::Error(APH_STATUS_DEVICE, std::string("cuda: ") + e.what());
    } catch (...) {
        release();
        throw;
    }
}

DeviceContext::~DeviceContext() { release(); }

void DeviceContext::release() noexcept {
    // Teardown must not throw; errors here cannot be reported to anyone who could act on them.
    if (device_ >= 0) (void)cudaSetDevice(device_);
    if (stream_) (void)cudaStreamSynchronize(stream_);
    if (lt_) (void)cublasLtDestroy(reinterpret_cast<cublasLtHandle_t>(lt_));
    if (error_word_host_) (void)cudaFreeHost(error_word_host_);
    if (stream_) (void)cudaStreamDestroy(stream_);
    lt_ = nullptr;
    error_word_host_ = nullptr;
    error_word_dev_ = nullptr;
    stream_ = nullptr;
    (void)cudaGetLastError();
}

void DeviceContext::bind() const {
    const cudaError_t e = cudaSetDevice(device_);
    if (e != cudaSuccess) throw sdk::Error(APH_STATUS_DEVICE, "cuda: cudaSetDevice failed: " + cuda_error_text(e));
}

void DeviceContext::synchronize() {
    const cudaError_t e = cudaStreamSynchronize(stream_);
    if (e != cudaSuccess)
        throw sdk::Error(APH_STATUS_DEVICE, "cuda: work queued earlier failed: " + cuda_error_text(e) +
                                                " (kernel errors are sticky: recreate the backend context)");
    check_error_word();
}

void DeviceContext::check_error_word() {
    const unsigned bits = *static_cast<volatile unsigned*>(error_word_host_);
    if (bits == 0) return;
    *static_cast<volatile unsigned*>(error_word_host_) = 0;
    throw sdk::Error(APH_STATUS_DEVICE, "cuda: " + describe_device_errors(bits));
}

aph_device_info DeviceContext::info(bool graphs_enabled) const {
    aph_device_info d{};
    d.struct_size = sizeof(aph_device_info);
    std::snprintf(d.name, sizeof d.name, "%s", name_.c_str());
    std::snprintf(d.detail, sizeof d.detail,
                  "compute capability %d.%d, %d SMs, %zu MiB L2, driver CUDA %s, runtime CUDA %s, CUDA graphs %s, "
                  "built for %s",
                  caps_.cc_major, caps_.cc_minor, caps_.n_sms, caps_.l2_bytes >> 20,
                  cuda_version_string(driver_version_).c_str(), cuda_version_string(runtime_version_).c_str(),
                  graphs_enabled ? "on" : "off", APRHOST_CUDA_ARCHS);
    size_t free_b = 0, total_b = 0;
    const cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) throw sdk::Error(APH_STATUS_DEVICE, "cuda: cudaMemGetInfo failed: " + cuda_error_text(e));
    d.memory_total = total_b;
    d.memory_free = free_b;
    d.flags = 0;
    return d;
}

}  // namespace aprhost::cuda
