#include <aprhost/core/error.hpp>
#include <aprhost/core/host_services.hpp>
#include <aprhost/core/kv_cache.hpp>
#include <aprhost/core/model.hpp>

namespace aprhost::core {

KvCache::KvCache(std::shared_ptr<LoadedPlugin> plugin, std::shared_ptr<BackendContext> backend,
                 const aph_kv_config& cfg, const std::map<std::string, std::string>& options)
    : plugin_(std::move(plugin)), backend_(std::move(backend)), cfg_(cfg) {
    cfg_.struct_size = sizeof(aph_kv_config);
    std::vector<aph_option> opts;
    for (auto& [k, v] : options) opts.push_back({k.c_str(), v.c_str()});
    aph_error err{};
    aph_status st = plugin_->kv().create(host_services(), &cfg_, opts.data(), opts.size(), &kv_, &err);
    if (st != APH_OK || !kv_) {
        kv_ = nullptr;
        fail(st, err, "create");
    }
    slots_ = plugin_->kv().slot_count(kv_);
    const int64_t row = int64_t(cfg_.head_dim) * cfg_.n_kv_heads;
    for (uint32_t l = 0; l < cfg_.n_layers; ++l) {
        aph_tensor t = make_tensor(static_cast<aph_dtype>(cfg_.dtype), {row, int64_t(slots_)}, nullptr, 0);
        uint64_t bytes = uint64_t(t.nb[1]) * slots_;
        k_.push_back(backend_->alloc(bytes, "KV cache (K)"));
        v_.push_back(backend_->alloc(bytes, "KV cache (V)"));
    }
}

KvCache::~KvCache() {
    k_.clear();
    v_.clear();
    if (kv_) plugin_->kv().destroy(kv_);
}

void KvCache::fail(aph_status st, const aph_error& err, const std::string& what) const {
    ErrorKind kind = st == APH_STATUS_EXHAUSTED || st == APH_STATUS_OUT_OF_MEMORY ? ErrorKind::RESOURCE
                     : st == APH_STATUS_INVALID_ARGUMENT                           ? ErrorKind::USAGE
                                                                                   : ErrorKind::PLUGIN;
    std::string msg = err.message[0] ? err.message : "status " + std::to_string(st);
    if (kind == ErrorKind::RESOURCE) throw Error(kind, msg);
    throw Error(kind, "kv plugin '" + plugin_->name + "' " + what + ": " + msg);
}

std::vector<int32_t> KvCache::append(uint32_t seq, uint32_t n) {
    std::vector<int32_t> slots(n);
    aph_error err{};
    aph_status st = plugin_->kv().seq_append(kv_, seq, n, slots.data(), &err);
    if (st != APH_OK) fail(st, err, "append");
    for (auto s : slots)
        if (s < 0 || uint64_t(s) >= slots_)
            throw Error(ErrorKind::PLUGIN, "kv plugin '" + plugin_->name + "' returned slot " + std::to_string(s) +
                                               " outside [0, " + std::to_string(slots_) + ")");
    return slots;
}

std::vector<int32_t> KvCache::append_tokens(uint32_t seq, std::span<const int32_t> ids, uint32_t& n_cached) {
    std::vector<int32_t> slots(ids.size());
    aph_error err{};
    n_cached = 0;
    aph_status st = plugin_->kv().seq_append_tokens(kv_, seq, ids.data(), uint32_t(ids.size()), slots.data(),
                                                    &n_cached, &err);
    if (st != APH_OK) fail(st, err, "append_tokens");
    if (n_cached >= ids.size() && !ids.empty())
        throw Error(ErrorKind::PLUGIN, "kv plugin '" + plugin_->name + "' cached every token (the last must be computed)");
    slots.resize(ids.size() - n_cached);
    for (auto s : slots)
        if (s < 0 || uint64_t(s) >= slots_)
            throw Error(ErrorKind::PLUGIN, "kv plugin '" + plugin_->name + "' returned slot " + std::to_string(s) +
                                               " outside [0, " + std::to_string(slots_) + ")");
    return slots;
}

BlockTable KvCache::block_table(uint32_t seq) const {
    BlockTable bt;
    bt.blocks.resize(16);
    for (int attempt = 0; attempt < 2; ++attempt) {
        uint32_t nb = 0;
        aph_error err{};
        aph_status st = plugin_->kv().seq_block_table(kv_, seq, bt.blocks.data(), uint32_t(bt.blocks.size()), &nb,
                                                      &bt.block_size, &bt.n_kv, &err);
        if (st != APH_OK) fail(st, err, "block_table");
        if (nb <= bt.blocks.size()) {
            bt.blocks.resize(nb);
            break;
        }
        bt.blocks.resize(nb);
    }
    if (bt.block_size == 0 || uint64_t(bt.blocks.size()) * bt.block_size < bt.n_kv)
        throw Error(ErrorKind::PLUGIN, "kv plugin '" + plugin_->name + "' returned an inconsistent block table");
    for (auto b : bt.blocks)
        if (b < 0 || (uint64_t(b) + 1) * bt.block_size > slots_)
            throw Error(ErrorKind::PLUGIN, "kv plugin '" + plugin_->name + "' returned block " + std::to_string(b) +
                                               " outside the cache");
    return bt;
}

void KvCache::truncate(uint32_t seq, uint32_t n) {
    if (!plugin_->kv().seq_truncate)
        throw Error(ErrorKind::PLUGIN, "kv plugin '" + plugin_->name + "' does not support truncate");
    aph_error err{};
    aph_status st = plugin_->kv().seq_truncate(kv_, seq, n, &err);
    if (st != APH_OK) fail(st, err, "truncate");
}

uint32_t KvCache::fork(uint32_t src, uint32_t dst) {
    if (!can_fork()) throw Error(ErrorKind::PLUGIN, "kv plugin '" + plugin_->name + "' does not support fork");
    aph_error err{};
    aph_status st = plugin_->kv().seq_fork(kv_, src, dst, &err);
    if (st != APH_OK) fail(st, err, "fork");
    return block_table(dst).n_kv;
}

void KvCache::free(uint32_t seq) { plugin_->kv().seq_free(kv_, seq); }

aph_kv_stats KvCache::stats() const {
    aph_kv_stats s{};
    s.struct_size = sizeof(s);
    if (plugin_->kv().stats) plugin_->kv().stats(kv_, &s);
    return s;
}

aph_tensor KvCache::k_tensor(uint32_t layer) const {
    const int64_t row = int64_t(cfg_.head_dim) * cfg_.n_kv_heads;
    return make_tensor(static_cast<aph_dtype>(cfg_.dtype), {row, int64_t(slots_)}, k_.at(layer)->handle(), 0);
}
aph_tensor KvCache::v_tensor(uint32_t layer) const {
    const int64_t row = int64_t(cfg_.head_dim) * cfg_.n_kv_heads;
    return make_tensor(static_cast<aph_dtype>(cfg_.dtype), {row, int64_t(slots_)}, v_.at(layer)->handle(), 0);
}

uint64_t KvCache::bytes() const {
    uint64_t b = 0;
    for (auto& k : k_) b += k->size();
    for (auto& v : v_) b += v->size();
    return b;
}

}  // namespace aprhost::core
