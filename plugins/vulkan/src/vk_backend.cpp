#include "vk_backend.hpp"

#include "vk_ops.hpp"
#include "vk_recorder.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace aprhost::vk {

namespace {

aph_buffer_t as_handle(VkBuf* b) { return reinterpret_cast<aph_buffer_t>(b); }
VkBuf* as_buf(aph_buffer_t b) { return reinterpret_cast<VkBuf*>(b); }

bool bool_option(const sdk::Options& opts, const char* key, bool fallback) {
    const std::string v = opts.get(key, fallback ? "1" : "0");
    if (v != "0" && v != "1") {
        // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on a chain of + here.
        std::string msg = "option ";
        msg += key;
        msg += "='";
        msg += v;
        msg += "' must be 0 or 1";
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, msg);
    }
    return v == "1";
}

// Option max_binding_bytes: at least 4096 (a few blocks of every dtype plus the offset alignment), at most what
// the device allows; 0 when absent (keep the device's limit).
uint64_t max_binding_option(const sdk::Options& opts, uint64_t device_limit) {
    if (!opts.has("max_binding_bytes")) return 0;
    const long long v = opts.get_int("max_binding_bytes", 0);
    if (v < 4096 || static_cast<unsigned long long>(v) > device_limit)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option max_binding_bytes=" + opts.get("max_binding_bytes") +
                                                          " must be in [4096, " + std::to_string(device_limit) +
                                                          "] (maxStorageBufferRange of this device)");
    return static_cast<uint64_t>(v);
}

bool validation_wanted(const sdk::Options& opts) {
    const std::string v = opts.get("validation", "");
    if (!v.empty()) {
        if (v != "0" && v != "1")
            throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option validation='" + v + "' must be 0 or 1");
        return v == "1";
    }
    // The brief of this backend: CI turns validation on for a whole test run through the environment.
    const char* env = std::getenv("APRHOST_VK_VALIDATION");
    return env && std::string(env) == "1";
}

}  // namespace

VkBackend::VkBackend(const aph_host_services* host, const sdk::Options& opts) : host_(host) {
    opts.require_known({"device", "validation", "threads", "subgroups", "fp64", "staging", "validation_selftest",
                       "max_binding_bytes"});
    sink_.host = host;
    const long long requested = opts.get_int("device", -1);
    if (opts.has("device") && requested < 0)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option device=" + opts.get("device") + " must be >= 0");
    instance_ = std::make_unique<Instance>(validation_wanted(opts), &sink_);
    const PhysicalDevice& pd = instance_->select(requested);
    device_ = std::make_unique<Device>(*instance_, pd);
    device_->restrict_caps(bool_option(opts, "subgroups", true), bool_option(opts, "fp64", true));
    if (const uint64_t limit = max_binding_option(opts, device_->caps().max_storage_buffer_range))
        device_->restrict_binding_range(limit);
    if (bool_option(opts, "validation_selftest", false)) {
        // Deliberately invalid but harmless (a fence with an undefined flag bit): with validation on, the layer
        // reports it and check_validation() below turns creation into an error (only RAII members exist yet), so
        // tests can prove that path works.
        VkFenceCreateInfo bad{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        bad.flags = 0x80000000u;
        VkFence fence = VK_NULL_HANDLE;
        if (device_->fns().vkCreateFence(device_->handle(), &bad, nullptr, &fence) == VK_SUCCESS)
            device_->fns().vkDestroyFence(device_->handle(), fence, nullptr);
        check_validation();
    }
    try {
        memory_ = std::make_unique<Memory>(*device_, bool_option(opts, "staging", false));
        pipelines_ = std::make_unique<PipelineCache>(*device_);
        descriptors_ = std::make_unique<DescriptorAllocator>(*device_);
        const uint64_t align = device_->caps().min_storage_buffer_offset_alignment;
        scratch_ = std::make_unique<Arena>(*memory_, MemKind::DEVICE, align, 4ull << 20);
        constants_ = std::make_unique<Arena>(*memory_, MemKind::HOST_UPLOAD, align, 64ull << 10);

        const DeviceFns& f = device_->fns();
        VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
        pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
        pci.queueFamilyIndex = device_->queue_family();
        Device::check(f.vkCreateCommandPool(device_->handle(), &pci, nullptr, &cmd_pool_), "vkCreateCommandPool");
        VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
        ai.commandPool = cmd_pool_;
        ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        ai.commandBufferCount = 1;
        Device::check(f.vkAllocateCommandBuffers(device_->handle(), &ai, &cmd_), "vkAllocateCommandBuffers");
        VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        Device::check(f.vkCreateFence(device_->handle(), &fci, nullptr, &fence_), "vkCreateFence");
        sdk::log(host_, APH_LOG_INFO,
                 "vulkan backend: device " + std::to_string(pd.index) + " " + pd.name + " (" + pd.type_name() + "), " +
                     device_->physical().features() + (instance_->validation() ? ", validation on" : "") +
                     (memory_->unified() ? ", unified memory (mapped transfers)" : ", staged transfers"));
        check_validation();
    } catch (...) {
        teardown();  // the raw handles made so far; the destructor does not run for a throwing constructor
        throw;
    }
}

VkBackend::~VkBackend() { teardown(); }

void VkBackend::teardown() noexcept {
    if (!device_) return;
    const DeviceFns& f = device_->fns();
    f.vkDeviceWaitIdle(device_->handle());
    for (auto& [b, size] : buffers_) memory_->destroy(b);
    buffers_.clear();
    if (query_pool_) f.vkDestroyQueryPool(device_->handle(), query_pool_, nullptr);
    if (fence_) f.vkDestroyFence(device_->handle(), fence_, nullptr);
    if (cmd_pool_) f.vkDestroyCommandPool(device_->handle(), cmd_pool_, nullptr);
    constants_.reset();
    scratch_.reset();
    descriptors_.reset();
    pipelines_.reset();
    memory_.reset();
    device_.reset();
    instance_.reset();
}

void VkBackend::check_validation() {
    std::string msg;
    {
        std::lock_guard<std::mutex> lock(sink_.mu);
        msg.swap(sink_.pending);
    }
    if (!msg.empty()) throw sdk::Error(APH_STATUS_DEVICE, msg);
}

VkBuf* VkBackend::checked(aph_buffer_t buf, const char* what) const {
    VkBuf* b = as_buf(buf);
    if (!b || buffers_.count(b) == 0) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, std::string(what) + ": unknown buffer handle");
    return b;
}

void VkBackend::wait_idle() {
    if (!in_flight_) return;
    in_flight_ = false;
    const DeviceFns& f = device_->fns();
    const VkResult r = f.vkWaitForFences(device_->handle(), 1, &fence_, VK_TRUE, UINT64_MAX);
    Device::check(r, "vkWaitForFences (graph)");
}

aph_device_info VkBackend::device_info() {
    check_validation();
    const PhysicalDevice& pd = device_->physical();
    aph_device_info info{};
    info.struct_size = sizeof(info);
    std::snprintf(info.name, sizeof(info.name), "%s", pd.name.c_str());
    const std::string detail = std::string(pd.type_name()) + ", device " + std::to_string(pd.index) + ", " +
                               pd.features() + (instance_->validation() ? ", validation on" : "");
    std::snprintf(info.detail, sizeof(info.detail), "%s", detail.c_str());
    info.memory_total = pd.device_local_bytes;
    info.memory_free = pd.device_local_bytes > bytes_allocated_ ? pd.device_local_bytes - bytes_allocated_ : 0;
    info.flags = 0;
    return info;
}

aph_buffer_t VkBackend::buffer_alloc(uint64_t size) {
    check_validation();
    VkBuf* b = memory_->create(size, MemKind::DEVICE);
    buffers_.emplace(b, size);
    bytes_allocated_ += size;
    return as_handle(b);
}

void VkBackend::buffer_free(aph_buffer_t buf) {
    VkBuf* b = checked(buf, "buffer_free");
    // A graph in flight may still read it.
    wait_idle();
    bytes_allocated_ -= b->size;
    buffers_.erase(b);
    memory_->destroy(b);
}

void VkBackend::buffer_upload(aph_buffer_t buf, uint64_t offset, const void* src, uint64_t size) {
    check_validation();
    VkBuf* b = checked(buf, "buffer_upload");
    if (offset > b->size || size > b->size - offset)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_upload: range [" + std::to_string(offset) + ", +" +
                                                          std::to_string(size) + ") exceeds the buffer of " + std::to_string(b->size) + " bytes");
    wait_idle();
    memory_->upload(b, offset, src, size);
    check_validation();
}

void VkBackend::buffer_download(aph_buffer_t buf, uint64_t offset, void* dst, uint64_t size) {
    check_validation();
    VkBuf* b = checked(buf, "buffer_download");
    if (offset > b->size || size > b->size - offset)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_download: range [" + std::to_string(offset) + ", +" +
                                                          std::to_string(size) + ") exceeds the buffer of " + std::to_string(b->size) + " bytes");
    wait_idle();
    memory_->download(b, offset, dst, size);
    check_validation();
}

std::string VkBackend::unsupported_reason(const aph_graph& g, uint32_t node) {
    check_validation();
    return node_unsupported(device_->caps(), g, node);
}

void VkBackend::validate_graph(const aph_graph& g) {
    if (g.n_nodes && (!g.nodes || !g.tensors)) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "graph without nodes or tensors");
    static const char* const roles[] = {"src0", "src1", "src2", "src3", "src4", "src5"};
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        const aph_node& node = g.nodes[i];
        auto where = [&] { return "node " + std::to_string(i) + (node.name ? std::string(" (") + node.name + ")" : ""); };
        const std::string why = node_unsupported(device_->caps(), g, i);
        if (!why.empty()) throw sdk::Error(APH_STATUS_UNSUPPORTED, where() + ": " + why);
        for (int s = 0; s < APH_MAX_SRC; ++s) {
            if (node.src[s] < 0) continue;
            const aph_tensor& t = g.tensors[node.src[s]];
            const std::string oob = tensor_out_of_bounds(t, checked(t.buffer, "graph_compute")->size, roles[s]);
            if (!oob.empty()) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, where() + ": " + oob);
        }
        const aph_tensor& d = g.tensors[node.dst];
        const std::string oob = tensor_out_of_bounds(d, checked(d.buffer, "graph_compute")->size, "dst");
        if (!oob.empty()) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, where() + ": " + oob);
    }
}

void VkBackend::record_node(GraphRecorder& rec, const aph_graph& g, uint32_t i) {
    const aph_node& node = g.nodes[i];
    try {
        switch (node.op) {
            case APH_OP_GET_ROWS: record_get_rows(rec, g, node); break;
            case APH_OP_MUL_MAT: record_mul_mat(rec, g, node); break;
            case APH_OP_RMS_NORM: record_rms_norm(rec, g, node); break;
            case APH_OP_ROPE: record_rope(rec, g, node); break;
            case APH_OP_KV_STORE: record_kv_store(rec, g, node); break;
            case APH_OP_ATTENTION: record_attention(rec, g, node); break;
            case APH_OP_SWIGLU:
            case APH_OP_GEGLU:
            case APH_OP_ADD:
            case APH_OP_SCALE: record_elementwise(rec, g, node); break;
            case APH_OP_COPY: record_copy(rec, g, node); break;
            default: throw sdk::Error(APH_STATUS_UNSUPPORTED, "op " + std::to_string(node.op));
        }
    } catch (const sdk::Error& e) {
        throw sdk::Error(e.status(), "node " + std::to_string(i) + (node.name ? std::string(" (") + node.name + ")" : "") + ": " + e.what());
    } catch (const std::exception& e) {
        throw sdk::Error(APH_STATUS_INTERNAL, "node " + std::to_string(i) + (node.name ? std::string(" (") + node.name + ")" : "") + ": " + e.what());
    }
}

void VkBackend::ensure_query_pool(uint32_t queries) {
    if (query_pool_ && query_capacity_ >= queries) return;
    const DeviceFns& f = device_->fns();
    if (query_pool_) f.vkDestroyQueryPool(device_->handle(), query_pool_, nullptr);
    query_pool_ = VK_NULL_HANDLE;
    VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qci.queryCount = std::max<uint32_t>(queries, 64);
    Device::check(f.vkCreateQueryPool(device_->handle(), &qci, nullptr, &query_pool_), "vkCreateQueryPool");
    query_capacity_ = qci.queryCount;
}

void VkBackend::record_and_submit(const aph_graph& g, uint32_t first, uint32_t last, bool timestamps) {
    wait_idle();
    // The previous graph has finished: its descriptor sets, scratch and constants may be reused.
    descriptors_->reset();
    scratch_->reset();
    constants_->reset();
    const DeviceFns& f = device_->fns();
    Device::check(f.vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    Device::check(f.vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
    GraphRecorder rec(*device_, *pipelines_, *descriptors_, *scratch_, *constants_, cmd_,
                      [this](aph_buffer_t b) { return checked(b, "graph_compute"); });
    if (timestamps) f.vkCmdResetQueryPool(cmd_, query_pool_, 0, 2 * (last - first));
    // Host writes (uploads, mapped memory) before the submit are visible to the device by the submit itself.
    for (uint32_t i = first; i < last; ++i) {
        if (sdk::aborted(host_)) {
            f.vkEndCommandBuffer(cmd_);
            throw sdk::Error(APH_STATUS_ABORTED, "aborted before node " + std::to_string(i));
        }
        if (timestamps) f.vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, query_pool_, 2 * (i - first));
        try {
            record_node(rec, g, i);
        } catch (...) {
            f.vkEndCommandBuffer(cmd_);
            throw;
        }
        record_full_barrier(f, cmd_);
        if (timestamps) f.vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, query_pool_, 2 * (i - first) + 1);
    }
    // Make the graph's writes available to host reads after the fence (mapped downloads on unified memory).
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    f.vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
    Device::check(f.vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd_;
    Device::check(f.vkResetFences(device_->handle(), 1, &fence_), "vkResetFences");
    Device::check(f.vkQueueSubmit(device_->queue(), 1, &si, fence_), "vkQueueSubmit");
    in_flight_ = true;
    nodes_computed_ += last - first;
}

void VkBackend::graph_compute(const aph_graph& g) {
    check_validation();
    validate_graph(g);
    record_and_submit(g, 0, g.n_nodes, false);
    ++graphs_computed_;
    check_validation();
}

void VkBackend::graph_profile(const aph_graph& g, uint64_t* node_ns) {
    check_validation();
    if (g.n_nodes && !node_ns) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "graph_profile: node_ns is NULL");
    validate_graph(g);
    const PhysicalDevice& pd = device_->physical();
    if (pd.timestamp_valid_bits == 0) {
        // No timestamps on this queue: one submission per node under a host clock (includes submit latency).
        for (uint32_t i = 0; i < g.n_nodes; ++i) {
            wait_idle();
            const auto t0 = std::chrono::steady_clock::now();
            record_and_submit(g, i, i + 1, false);
            wait_idle();
            node_ns[i] = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
        }
    } else if (g.n_nodes) {
        wait_idle();
        ensure_query_pool(2 * g.n_nodes);
        record_and_submit(g, 0, g.n_nodes, true);
        wait_idle();
        std::vector<uint64_t> ticks(2 * size_t(g.n_nodes));
        Device::check(device_->fns().vkGetQueryPoolResults(device_->handle(), query_pool_, 0, 2 * g.n_nodes,
                                                           ticks.size() * sizeof(uint64_t), ticks.data(), sizeof(uint64_t),
                                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
                      "vkGetQueryPoolResults");
        const uint64_t mask = pd.timestamp_valid_bits >= 64 ? ~0ull : ((1ull << pd.timestamp_valid_bits) - 1);
        for (uint32_t i = 0; i < g.n_nodes; ++i) {
            const uint64_t dt = (ticks[2 * i + 1] - ticks[2 * i]) & mask;
            node_ns[i] = static_cast<uint64_t>(static_cast<double>(dt) * pd.timestamp_period_ns);
        }
    }
    ++graphs_computed_;
    check_validation();
}

void VkBackend::synchronize() {
    wait_idle();
    check_validation();
}

aph_backend_stats VkBackend::stats() {
    aph_backend_stats s{};
    s.struct_size = sizeof(s);
    s.bytes_allocated = bytes_allocated_;
    s.graphs_computed = graphs_computed_;
    s.nodes_computed = nodes_computed_;
    return s;
}

}  // namespace aprhost::vk
