#include <aprhost/core/backend.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/host_services.hpp>

#include <vector>

namespace aprhost::core {

Buffer::~Buffer() {
    if (ctx_) ctx_->free_buffer(handle_);
}
void Buffer::upload(uint64_t offset, const void* src, uint64_t n) { ctx_->upload(handle_, offset, src, n); }
void Buffer::download(uint64_t offset, void* dst, uint64_t n) const { ctx_->download(handle_, offset, dst, n); }

std::shared_ptr<BackendContext> BackendContext::create(std::shared_ptr<LoadedPlugin> plugin,
                                                       const std::map<std::string, std::string>& options) {
    std::vector<aph_option> opts;
    for (auto& [k, v] : options) opts.push_back({k.c_str(), v.c_str()});
    aph_error err{};
    void* ctx = nullptr;
    aph_status st = plugin->backend().create(host_services(), opts.data(), opts.size(), &ctx, &err);
    if (st != APH_OK || !ctx)
        throw Error(st == APH_STATUS_INVALID_ARGUMENT ? ErrorKind::USAGE : ErrorKind::PLUGIN,
                    "backend '" + plugin->display_name() + "': " + (err.message[0] ? err.message : "create failed"));
    auto self = std::shared_ptr<BackendContext>(new BackendContext(std::move(plugin), ctx));
    aph_error e2{};
    st = self->plugin_->backend().device_info(ctx, &self->device_, &e2);
    if (st != APH_OK) self->fail(st, e2, "device_info");
    return self;
}

BackendContext::~BackendContext() {
    if (ctx_) plugin_->backend().destroy(ctx_);
}

void BackendContext::fail(aph_status st, const aph_error& err, const std::string& what) const {
    ErrorKind kind = (st == APH_STATUS_OUT_OF_MEMORY || st == APH_STATUS_EXHAUSTED) ? ErrorKind::RESOURCE
                                                                                     : ErrorKind::PLUGIN;
    throw Error(kind, "backend '" + plugin_->display_name() + "' " + what + ": " +
                          (err.message[0] ? std::string(err.message) : "status " + std::to_string(st)));
}

std::shared_ptr<Buffer> BackendContext::alloc(uint64_t size, const char* what) {
    aph_error err{};
    aph_buffer_t b = nullptr;
    aph_status st = plugin_->backend().buffer_alloc(ctx_, size, &b, &err);
    if (st != APH_OK) fail(st, err, std::string("alloc of ") + std::to_string(size) + " bytes for " + what);
    return std::make_shared<Buffer>(shared_from_this(), b, size);
}

std::shared_ptr<Buffer> BackendContext::import_or_upload(const void* data, uint64_t size, const char* what) {
    if (can_import_host()) {
        aph_error err{};
        aph_buffer_t b = nullptr;
        aph_status st = plugin_->backend().buffer_import_host(ctx_, data, size, &b, &err);
        if (st == APH_OK) return std::make_shared<Buffer>(shared_from_this(), b, size);
        if (st != APH_STATUS_UNSUPPORTED) fail(st, err, std::string("import of ") + what);
    }
    auto buf = alloc(size, what);
    buf->upload(0, data, size);
    return buf;
}

std::string BackendContext::unsupported_reason(const aph_graph& graph, uint32_t node) const {
    aph_error err{};
    aph_status st = plugin_->backend().supports(ctx_, &graph, node, &err);
    if (st == APH_OK) return "";
    // Only UNSUPPORTED means "cannot run this node"; any other status is the plugin failing.
    if (st != APH_STATUS_UNSUPPORTED) fail(st, err, "supports");
    return err.message[0] ? err.message : "unsupported (no reason given)";
}

void BackendContext::compute(const aph_graph& graph) {
    aph_error err{};
    aph_status st = plugin_->backend().graph_compute(ctx_, &graph, &err);
    if (st != APH_OK) fail(st, err, "graph_compute");
}

std::vector<uint64_t> BackendContext::compute_profiled(const aph_graph& graph) {
    if (!can_profile())
        throw Error(ErrorKind::PLUGIN, "backend '" + plugin_->display_name() +
                                           "' cannot time graph nodes (no graph_profile slot; plugin ABI < 1.1)");
    std::vector<uint64_t> ns(graph.n_nodes, 0);
    aph_error err{};
    aph_status st = plugin_->backend().graph_profile(ctx_, &graph, ns.data(), &err);
    if (st != APH_OK) fail(st, err, "graph_profile");
    return ns;
}

void BackendContext::synchronize() {
    aph_error err{};
    aph_status st = plugin_->backend().synchronize(ctx_, &err);
    if (st != APH_OK) fail(st, err, "synchronize");
}

aph_backend_stats BackendContext::stats() const {
    aph_backend_stats s{};
    s.struct_size = sizeof(s);
    if (plugin_->backend().stats) plugin_->backend().stats(ctx_, &s);
    return s;
}

void BackendContext::upload(aph_buffer_t b, uint64_t offset, const void* src, uint64_t n) {
    aph_error err{};
    aph_status st = plugin_->backend().buffer_upload(ctx_, b, offset, src, n, &err);
    if (st != APH_OK) fail(st, err, "upload");
}

void BackendContext::download(aph_buffer_t b, uint64_t offset, void* dst, uint64_t n) {
    aph_error err{};
    aph_status st = plugin_->backend().buffer_download(ctx_, b, offset, dst, n, &err);
    if (st != APH_OK) fail(st, err, "download");
}

void BackendContext::free_buffer(aph_buffer_t b) noexcept {
    if (b) plugin_->backend().buffer_free(ctx_, b);
}

}  // namespace aprhost::core
