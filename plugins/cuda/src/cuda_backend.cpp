// See cuda_backend.hpp.
#include "cuda_backend.hpp"

#include "cuda_check.hpp"
#include "cuda_graph_key.hpp"
#include "cuda_probe.hpp"
#include "cuda_validate.hpp"

#include <algorithm>
#include <exception>

namespace aprhost::cuda {

namespace {

const char* op_name(uint32_t op) {
    switch (op) {
        case APH_OP_GET_ROWS: return "GET_ROWS";
        case APH_OP_RMS_NORM: return "RMS_NORM";
        case APH_OP_MUL_MAT: return "MUL_MAT";
        case APH_OP_ROPE: return "ROPE";
        case APH_OP_KV_STORE: return "KV_STORE";
        case APH_OP_ATTENTION: return "ATTENTION";
        case APH_OP_SWIGLU: return "SWIGLU";
        case APH_OP_GEGLU: return "GEGLU";
        case APH_OP_ADD: return "ADD";
        case APH_OP_SCALE: return "SCALE";
        case APH_OP_COPY: return "COPY";
        default: return "op?";
    }
}

void check(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    (void)cudaGetLastError();
    throw sdk::Error(APH_STATUS_DEVICE, std::string("cuda: ") + what + " failed: " + cuda_error_text(e));
}

bool parse_bool(const std::string& key, const std::string& v) {
    if (v == "1" || v == "on" || v == "true") return true;
    if (v == "0" || v == "off" || v == "false") return false;
    throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option " + key + "='" + v + "' must be 1/0, on/off or true/false");
}

}  // namespace

uint32_t CudaBackend::score(std::string& reason) { return score_from_facts(probe_cuda(), reason); }

CudaBackend::CudaBackend(const aph_host_services* host, const sdk::Options& opts) : host_(host) {
    opts.require_known({"device", "graphs", "fuse", "threads"});
    const long long device = opts.get_int("device", 0);
    if (device < 0 || device > 1024)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "option device=" + std::to_string(device) + " is out of range");
    if (opts.has("graphs")) graphs_enabled_ = parse_bool("graphs", opts.get("graphs"));
    if (opts.has("fuse")) fuse_ = parse_bool("fuse", opts.get("fuse"));
    dev_ = std::make_unique<DeviceContext>(static_cast<int>(device));
    transfers_ = std::make_unique<Transfers>(*dev_);
    log(APH_LOG_INFO, "cuda: " + std::string(dev_->info(graphs_enabled_).name) + ", " +
                          dev_->info(graphs_enabled_).detail);
}

CudaBackend::~CudaBackend() {
    if (!dev_) return;
    // One line a run can be checked by (aprhost -v): did the decode loop replay captured graphs?
    log(APH_LOG_INFO, "cuda: " + std::to_string(graphs_computed_) + " graphs computed, " +
                          std::to_string(graph_cache_.captures()) + " captured as CUDA graphs, " +
                          std::to_string(graph_cache_.replays()) + " replays; graphs " +
                          (graphs_enabled_ ? "on" : "off") + ", fusion " + (fuse_ ? "on" : "off"));
    try {
        dev_->bind();
    } catch (...) {
    }
    (void)cudaStreamSynchronize(dev_->stream());
    graph_cache_.clear();
    for (cudaEvent_t ev : events_) (void)cudaEventDestroy(ev);
    if (workspace_) (void)cudaFree(workspace_);
    if (step_params_) (void)cudaFree(step_params_);
    (void)cudaGetLastError();
    // buffers_, transfers_ and dev_ are released by their destructors, in that order.
}

aph_device_info CudaBackend::device_info() {
    dev_->bind();
    return dev_->info(graphs_enabled_);
}

aph_buffer_t CudaBackend::buffer_alloc(uint64_t size) {
    dev_->bind();
    return as_handle(buffers_.allocate(size));
}

void CudaBackend::buffer_free(aph_buffer_t buf) {
    dev_->bind();
    CudaBuffer* b = buffers_.checked(buf, "buffer_free");
    // Queued work (or a captured graph) may still use the memory: wait, and forget graphs that captured it.
    check(cudaStreamSynchronize(dev_->stream()), "cudaStreamSynchronize (buffer_free)");
    graph_cache_.clear();
    buffers_.release(b);
}

void CudaBackend::buffer_upload(aph_buffer_t buf, uint64_t offset, const void* src, uint64_t size) {
    dev_->bind();
    CudaBuffer* b = buffers_.checked(buf, "buffer_upload");
    if (offset > b->size || size > b->size - offset)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_upload of " + std::to_string(size) + " bytes at " +
                                                          std::to_string(offset) + " exceeds the buffer of " +
                                                          std::to_string(b->size) + " bytes");
    if (size > 0 && src == nullptr) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_upload from NULL");
    transfers_->upload(static_cast<char*>(b->ptr) + offset, src, size);
}

void CudaBackend::buffer_download(aph_buffer_t buf, uint64_t offset, void* dst, uint64_t size) {
    dev_->bind();
    CudaBuffer* b = buffers_.checked(buf, "buffer_download");
    if (offset > b->size || size > b->size - offset)
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_download of " + std::to_string(size) + " bytes at " +
                                                          std::to_string(offset) + " exceeds the buffer of " +
                                                          std::to_string(b->size) + " bytes");
    if (size > 0 && dst == nullptr) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "buffer_download into NULL");
    transfers_->download(dst, static_cast<const char*>(b->ptr) + offset, size);
}

std::string CudaBackend::unsupported_reason(const aph_graph& g, uint32_t node) {
    return node_unsupported_reason(dev_->caps(), g, node);
}

void CudaBackend::synchronize() {
    dev_->bind();
    dev_->synchronize();
}

aph_backend_stats CudaBackend::stats() {
    aph_backend_stats s{};
    s.struct_size = sizeof(aph_backend_stats);
    s.bytes_allocated = buffers_.bytes() + workspace_bytes_ + step_params_capacity_ * sizeof(int32_t);
    s.graphs_computed = graphs_computed_;
    s.nodes_computed = nodes_computed_;
    return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Graph execution
// ---------------------------------------------------------------------------------------------------------------

void CudaBackend::validate(const aph_graph& g) {
    if (g.n_nodes > 0 && (g.nodes == nullptr || g.tensors == nullptr))
        throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "graph has nodes but no node or tensor array");
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        const std::string why = node_unsupported_reason(dev_->caps(), g, i);
        const char* name = g.nodes[i].name ? g.nodes[i].name : "";
        if (!why.empty())
            throw sdk::Error(APH_STATUS_UNSUPPORTED,
                             "node " + std::to_string(i) + " '" + name + "' (" + op_name(g.nodes[i].op) + "): " + why);
        check_node_bounds(buffers_, g, g.nodes[i]);
    }
}

// Workspace and step-params buffer large enough for g, allocated before anything is captured. Growing either
// frees the old one (after the stream drains) and drops the captured graphs that point at it.
void CudaBackend::prepare_scratch(const aph_graph& g) {
    size_t need = 0;
    attention_index_.assign(g.n_nodes, 0);
    uint32_t n_attention = 0;
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        const aph_node& n = g.nodes[i];
        if (n.op == APH_OP_MUL_MAT) need = std::max(need, mul_mat_workspace_bytes(dev_->caps(), g, n));
        if (n.op == APH_OP_ATTENTION) {
            need = std::max(need, attention_workspace_bytes(dev_->caps(), g, n));
            attention_index_[i] = n_attention++;
        }
    }
    if (need > workspace_bytes_) {
        const size_t bytes = std::max(need, workspace_bytes_ + workspace_bytes_ / 2);  // grow geometrically
        check(cudaStreamSynchronize(dev_->stream()), "cudaStreamSynchronize (workspace growth)");
        graph_cache_.clear();
        if (workspace_) check(cudaFree(workspace_), "cudaFree (workspace)");
        workspace_ = nullptr;
        workspace_bytes_ = 0;
        const cudaError_t e = cudaMalloc(&workspace_, bytes);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            workspace_ = nullptr;
            throw sdk::Error(e == cudaErrorMemoryAllocation ? APH_STATUS_OUT_OF_MEMORY : APH_STATUS_DEVICE,
                             "cuda: workspace of " + std::to_string(bytes) + " bytes: " + cuda_error_text(e));
        }
        workspace_bytes_ = bytes;
    }
    if (n_attention > step_params_capacity_) {
        check(cudaStreamSynchronize(dev_->stream()), "cudaStreamSynchronize (step params growth)");
        graph_cache_.clear();
        if (step_params_) check(cudaFree(step_params_), "cudaFree (step params)");
        step_params_ = nullptr;
        step_params_capacity_ = 0;
        const size_t cap = std::max<size_t>(256, size_t(n_attention) * 2);
        check(cudaMalloc(reinterpret_cast<void**>(&step_params_), cap * sizeof(int32_t)), "cudaMalloc (step params)");
        step_params_capacity_ = cap;
    }
}

void CudaBackend::enqueue_params(const aph_graph& g) {
    params_host_.clear();
    for (uint32_t i = 0; i < g.n_nodes; ++i)
        if (g.nodes[i].op == APH_OP_ATTENTION) params_host_.push_back(g.nodes[i].iparams[0]);
    if (params_host_.empty()) return;
    try {
        enqueue_step_params(dev_->stream(), step_params_, params_host_.data(), static_cast<int>(params_host_.size()));
    } catch (const CudaError& e) {
        throw sdk::Error(APH_STATUS_DEVICE, std::string("cuda: step params: ") + e.what());
    }
}

OpContext CudaBackend::op_context() const {
    OpContext oc;
    oc.lc.stream = dev_->stream();
    oc.lc.cublaslt = dev_->cublaslt();
    oc.lc.caps = &dev_->caps();
    oc.lc.workspace = workspace_;
    oc.lc.workspace_bytes = workspace_bytes_;
    oc.step_params = step_params_;
    oc.error_word = dev_->error_word_device();
    return oc;
}

void CudaBackend::launch_node(const aph_graph& g, uint32_t index, int attention_slot) {
    const aph_node& n = g.nodes[index];
    const OpContext oc = op_context();
    try {
        switch (n.op) {
            case APH_OP_GET_ROWS: launch_get_rows(oc.lc, g, n); break;
            case APH_OP_MUL_MAT: launch_mul_mat(oc.lc, g, n); break;
            case APH_OP_RMS_NORM: launch_rms_norm(oc, g, n); break;
            case APH_OP_ROPE: launch_rope(oc, g, n); break;
            case APH_OP_KV_STORE: launch_kv_store(oc, g, n); break;
            case APH_OP_ATTENTION: launch_attention(oc, g, n, attention_slot); break;
            case APH_OP_SWIGLU: launch_swiglu(oc, g, n); break;
            case APH_OP_GEGLU: launch_geglu(oc, g, n); break;
            case APH_OP_ADD: launch_add(oc, g, n); break;
            case APH_OP_SCALE: launch_scale(oc, g, n); break;
            case APH_OP_COPY: launch_copy(oc, g, n); break;
            default: throw sdk::Error(APH_STATUS_UNSUPPORTED, "op " + std::to_string(n.op) + " is not supported");
        }
    } catch (const sdk::Error&) {
        throw;
    } catch (const std::exception& e) {
        const char* name = n.name ? n.name : "";
        throw sdk::Error(APH_STATUS_DEVICE, "cuda: node " + std::to_string(index) + " '" + name + "' (" +
                                                op_name(n.op) + "): " + e.what());
    }
}

void CudaBackend::launch_planned(const aph_graph& g, const PlannedLaunch& l) {
    if (l.kind == LaunchKind::SINGLE) {
        launch_node(g, l.first, static_cast<int>(attention_index_[l.first]));
        return;
    }
    const aph_node& a = g.nodes[l.first];
    const aph_node& b = g.nodes[l.first + 1];
    const OpContext oc = op_context();
    try {
        switch (l.kind) {
            case LaunchKind::ADD_RMS_NORM: launch_add_rms_norm(oc, g, a, b); break;
            case LaunchKind::ROPE_PAIR: launch_rope_pair(oc, g, a, b); break;
            case LaunchKind::KV_STORE_PAIR: launch_kv_store_pair(oc, g, a, b); break;
            case LaunchKind::SINGLE: break;
        }
    } catch (const std::exception& e) {
        throw sdk::Error(APH_STATUS_DEVICE, "cuda: nodes " + std::to_string(l.first) + "-" +
                                                std::to_string(l.first + 1) + " '" + (a.name ? a.name : "") + "' + '" +
                                                (b.name ? b.name : "") + "' (fused " + op_name(a.op) + "+" +
                                                op_name(b.op) + "): " + e.what());
    }
}

void CudaBackend::launch_nodes(const aph_graph& g) {
    for (const PlannedLaunch& l : plan_) launch_planned(g, l);
}

void CudaBackend::capture_and_launch(const aph_graph& g, size_t cache_entry) {
    const cudaStream_t s = dev_->stream();
    check(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    cudaGraph_t graph = nullptr;
    try {
        launch_nodes(g);
    } catch (const std::exception& e) {
        // Leave capture mode whatever happened, then run this step node by node: a genuine launch error shows up
        // again there, and a call that cannot be captured no longer stops the step. Graphs stay off: loud, once.
        (void)cudaStreamEndCapture(s, &graph);
        if (graph) (void)cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        graphs_enabled_ = false;
        log(APH_LOG_WARN, std::string("cuda: capturing the step into a CUDA graph failed (") + e.what() +
                              "); this context now launches node by node");
        launch_nodes(g);
        return;
    }
    const cudaError_t end = cudaStreamEndCapture(s, &graph);
    cudaGraphExec_t exec = nullptr;
    cudaError_t inst = cudaErrorUnknown;
    if (end == cudaSuccess) {
        inst = cudaGraphInstantiate(&exec, graph, 0);
        (void)cudaGraphDestroy(graph);
    }
    if (end != cudaSuccess || inst != cudaSuccess) {
        (void)cudaGetLastError();
        graphs_enabled_ = false;
        log(APH_LOG_WARN, "cuda: CUDA graph capture failed (" +
                              cuda_error_text(end != cudaSuccess ? end : inst) +
                              "); this context now launches node by node");
        launch_nodes(g);
        return;
    }
    graph_cache_.store(cache_entry, exec);
    log(APH_LOG_DEBUG, "cuda: captured a step graph of " + std::to_string(g.n_nodes) + " nodes (" +
                           std::to_string(graph_cache_.captures()) + " captured so far)");
    check(cudaGraphLaunch(exec, s), "cudaGraphLaunch");
}

void CudaBackend::graph_compute(const aph_graph& g) {
    dev_->bind();
    validate(g);
    prepare_scratch(g);
    plan_ = plan_launches(g, fuse_);
    enqueue_params(g);
    if (graphs_enabled_ && g.n_nodes > 0) {
        const GraphKey key = graph_structure_key(g);
        const GraphCache::Lookup lk = graph_cache_.lookup(key);
        switch (lk.action) {
            case GraphCache::Action::REPLAY: check(cudaGraphLaunch(lk.exec, dev_->stream()), "cudaGraphLaunch"); break;
            case GraphCache::Action::CAPTURE: capture_and_launch(g, lk.entry); break;
            case GraphCache::Action::EAGER: launch_nodes(g); break;
        }
    } else {
        launch_nodes(g);
    }
    ++graphs_computed_;
    nodes_computed_ += g.n_nodes;
}

void CudaBackend::graph_profile(const aph_graph& g, uint64_t* node_ns) {
    dev_->bind();
    validate(g);
    prepare_scratch(g);
    enqueue_params(g);
    const size_t need = size_t(g.n_nodes) + 1;
    while (events_.size() < need) {
        cudaEvent_t ev = nullptr;
        check(cudaEventCreate(&ev), "cudaEventCreate (profile)");
        events_.push_back(ev);
    }
    const cudaStream_t s = dev_->stream();
    // Node i runs between events i and i+1: one record per boundary, so the gaps between nodes count to the next.
    check(cudaEventRecord(events_[0], s), "cudaEventRecord");
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        launch_node(g, i, static_cast<int>(attention_index_[i]));
        check(cudaEventRecord(events_[i + 1], s), "cudaEventRecord");
    }
    dev_->synchronize();
    for (uint32_t i = 0; i < g.n_nodes; ++i) {
        float ms = 0.0f;
        check(cudaEventElapsedTime(&ms, events_[i], events_[i + 1]), "cudaEventElapsedTime");
        node_ns[i] = static_cast<uint64_t>(static_cast<double>(ms) * 1e6 + 0.5);
    }
    ++graphs_computed_;
    nodes_computed_ += g.n_nodes;
}

}  // namespace aprhost::cuda
