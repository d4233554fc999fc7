#include "cpu_backend.hpp"

#include "host_cpu_info.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace aprhost::cpu {

bool cpu_has_avx2_fma_f16c() {
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports also checks that the OS saves the YMM state. Not every compiler knows "f16c" there
    // (clang 14 does not), so that bit comes from CPUID leaf 1 (ECX bit 29).
    __builtin_cpu_init();
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#else
    return false;
#endif
}

namespace {

const KernelTable& choose_kernels(const std::string& want, const CpuVariant& v) {
    const bool avx2_ok = v.avx2_table && cpu_has_avx2_fma_f16c();
    if (want == "auto") return avx2_ok ? v.avx2_table() : kernels_scalar();
    if (want == "scalar") return kernels_scalar();
    if (want == "avx2") {
        if (!v.avx2_table)
            throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option kernels=avx2: this is the scalar variant of the cpu backend");
        if (!avx2_ok) throw sdk::Error(APH_STATUS_UNSUPPORTED, "option kernels=avx2: CPU lacks AVX2/FMA/F16C");
        return v.avx2_table();
    }
    throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option kernels='" + want + "' must be auto, avx2 or scalar");
}

}  // namespace

CpuBackend::CpuBackend(const aph_host_services* host, const sdk::Options& opts, const CpuVariant& variant)
    : host_(host), variant_(variant) {
    opts.require_known({"threads", "kernels", "spin_us"});
    const long long threads = opts.get_int("threads", host_physical_cores());
    if (threads < 1 || threads > 256)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option threads=" + std::to_string(threads) + " must be in 1..256");
    const long long spin = opts.get_int("spin_us", 500);
    if (spin < 0 || spin > 1000000)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option spin_us=" + std::to_string(spin) + " must be in 0..1000000");
    spin_us_ = static_cast<int>(spin);
    const KernelTable& k = choose_kernels(opts.get("kernels", "auto"), variant_);
    env_ = std::make_unique<OpEnv>(k, static_cast<int>(threads), spin_us_);
    sdk::log(host_, APH_LOG_DEBUG,
             std::string("cpu backend (") + variant_.name + "): kernels " + k.isa + ", " + std::to_string(threads) +
                 " threads");
}

CpuBackend::~CpuBackend() {
    for (CpuBuffer* b : buffers_) {
        if (b->owned) std::free(b->data);
        delete b;
    }
}

aph_device_info CpuBackend::device_info() {
    aph_device_info info{};
    info.struct_size = sizeof(info);
    const std::string name = host_cpu_model_name() + " (" + std::to_string(threads()) + " threads)";
    std::snprintf(info.name, sizeof(info.name), "%s", name.c_str());
    std::snprintf(info.detail, sizeof(info.detail), "variant %s, kernels %s, %d threads, spin %d us", variant_.name,
                  env_->k.isa, threads(), spin_us_);
    host_memory(info.memory_total, info.memory_free);
    info.flags = APH_DEVICE_HOST_VISIBLE | APH_DEVICE_IMPORT_HOST;
    return info;
}

CpuBuffer* CpuBackend::checked(aph_buffer_t buf, const char* what) const {
    auto* b = as_cpu_buffer(buf);
    if (!b || buffers_.count(b) == 0)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, std::string(what) + ": unknown buffer handle");
    return b;
}

void CpuBackend::check_range(const CpuBuffer* b, uint64_t offset, uint64_t size, const char* what) const {
    if (offset > b->size || size > b->size - offset)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, std::string(what) + ": range [" + std::to_string(offset) + ", +" +
                                                          std::to_string(size) + ") exceeds the buffer of " +
                                                          std::to_string(b->size) + " bytes");
}

aph_buffer_t CpuBackend::buffer_alloc(uint64_t size) {
    // Round up to whole cache lines (aligned_alloc wants a multiple of the alignment); never zero bytes.
    const uint64_t bytes = size == 0 ? 64 : (size + 63) / 64 * 64;
    if (bytes < size) throw sdk::Error(APH_STATUS_OUT_OF_MEMORY, "buffer_alloc: size overflows");
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw sdk::Error(APH_STATUS_OUT_OF_MEMORY, "buffer_alloc: cannot allocate " + std::to_string(size) + " bytes");
    auto* b = new CpuBuffer{static_cast<uint8_t*>(p), size, true};
    buffers_.insert(b);
    bytes_allocated_ += size;
    return as_handle(b);
}

void CpuBackend::buffer_free(aph_buffer_t buf) {
    CpuBuffer* b = checked(buf, "buffer_free");
    buffers_.erase(b);
    if (b->owned) {
        bytes_allocated_ -= b->size;
        std::free(b->data);
    }
    delete b;
}

aph_buffer_t CpuBackend::buffer_import_host(const void* ptr, uint64_t size) {
    if (!ptr && size) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_import_host: null pointer");
    // The memory stays the caller's (read-only by contract); we only remember where it is.
    auto* b = new CpuBuffer{static_cast<uint8_t*>(const_cast<void*>(ptr)), size, false};
    buffers_.insert(b);
    return as_handle(b);
}

void CpuBackend::buffer_upload(aph_buffer_t buf, uint64_t offset, const void* src, uint64_t size) {
    CpuBuffer* b = checked(buf, "buffer_upload");
    check_range(b, offset, size, "buffer_upload");
    if (!b->owned) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_upload: imported host buffers are read-only");
    if (size) std::memcpy(b->data + offset, src, size);
}

void CpuBackend::buffer_download(aph_buffer_t buf, uint64_t offset, void* dst, uint64_t size) {
    CpuBuffer* b = checked(buf, "buffer_download");
    check_range(b, offset, size, "buffer_download");
    if (size) std::memcpy(dst, b->data + offset, size);
}

void* CpuBackend::buffer_map(aph_buffer_t buf) { return checked(buf, "buffer_map")->data; }

std::string CpuBackend::unsupported_reason(const aph_graph& g, uint32_t node) { return op_unsupported_reason(g, node); }

void CpuBackend::graph_profile(const aph_graph& g, uint64_t* node_ns) {
    if (g.n_nodes && !node_ns) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "graph_profile: node_ns is NULL");
    run_graph(g, node_ns);
}

void CpuBackend::run_graph(const aph_graph& g, uint64_t* node_ns) {
    if (g.n_nodes && (!g.nodes || !g.tensors)) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "graph without nodes or tensors");
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        const aph_node& node = g.nodes[i];
        auto where = [&] { return "node " + std::to_string(i) + (node.name ? std::string(" (") + node.name + ")" : ""); };
        if (sdk::aborted(host_)) throw sdk::Error(APH_STATUS_ABORTED, "aborted before " + where());
        const std::string why = op_unsupported_reason(g, i);
        if (!why.empty()) throw sdk::Error(APH_STATUS_UNSUPPORTED, where() + ": " + why);
        for (int s = 0; s < APH_MAX_SRC; ++s)
            if (node.src[s] >= 0) checked(g.tensors[node.src[s]].buffer, "graph_compute");
        checked(g.tensors[node.dst].buffer, "graph_compute");
        // The clock brackets only the kernel (the ops run synchronously on the pool), not the checks above.
        const auto t0 = node_ns ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        try {
            op_check_bounds(g, node);
            switch (node.op) {
                case APH_OP_GET_ROWS: op_get_rows(*env_, g, node); break;
                case APH_OP_RMS_NORM: op_rms_norm(*env_, g, node); break;
                case APH_OP_MUL_MAT: op_mul_mat(*env_, g, node); break;
                case APH_OP_ROPE: op_rope(*env_, g, node); break;
                case APH_OP_KV_STORE: op_kv_store(*env_, g, node); break;
                case APH_OP_ATTENTION: op_attention(*env_, g, node); break;
                case APH_OP_SWIGLU:
                case APH_OP_GEGLU: op_glu(*env_, g, node); break;
                case APH_OP_ADD: op_add(*env_, g, node); break;
                case APH_OP_SCALE: op_scale(*env_, g, node); break;
                case APH_OP_COPY: op_copy(*env_, g, node); break;
                default: throw sdk::Error(APH_STATUS_UNSUPPORTED, "op " + std::to_string(node.op));
            }
        } catch (const sdk::Error& e) {
            throw sdk::Error(e.status(), where() + ": " + e.what());
        }
        if (node_ns)
            node_ns[i] = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
        ++nodes_computed_;
    }
    ++graphs_computed_;
}

aph_backend_stats CpuBackend::stats() {
    aph_backend_stats s{};
    s.struct_size = sizeof(s);
    s.bytes_allocated = bytes_allocated_;
    s.graphs_computed = graphs_computed_;
    s.nodes_computed = nodes_computed_;
    return s;
}

}  // namespace aprhost::cpu
