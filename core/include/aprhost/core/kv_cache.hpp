// The KV cache: a KV-manager plugin decides the slots; the K/V storage is one backend buffer per layer and
// per K/V holding slot_count rows of head_dim * n_kv_heads elements.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/backend.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include <map>
#include <span>
#include <memory>
#include <string>
#include <vector>

namespace aprhost::core {

struct BlockTable {
    std::vector<int32_t> blocks;
    uint32_t block_size = 0;
    uint32_t n_kv = 0;
};

class KvCache {
public:
    KvCache(std::shared_ptr<LoadedPlugin> plugin, std::shared_ptr<BackendContext> backend, const aph_kv_config& cfg,
            const std::map<std::string, std::string>& options);
    ~KvCache();
    KvCache(const KvCache&) = delete;
    KvCache& operator=(const KvCache&) = delete;

    // Slots for n new tokens of seq. Throws core::Error(RESOURCE) with the manager's message when full.
    std::vector<int32_t> append(uint32_t seq, uint32_t n);
    BlockTable block_table(uint32_t seq) const;
    // True when the manager has a prefix cache (seq_append_tokens).
    bool can_prefix_cache() const { return plugin_->kv().seq_append_tokens != nullptr; }
    // For an empty sequence: appends ids, reusing cached entries for a leading part. Returns the slots of the
    // tokens that still need computing (the last ids.size() − n_cached) and sets n_cached.
    std::vector<int32_t> append_tokens(uint32_t seq, std::span<const int32_t> ids, uint32_t& n_cached);
    void truncate(uint32_t seq, uint32_t n);
    // True when the manager can share a sequence's entries with another (paged: copy-on-write prefix sharing).
    bool can_fork() const { return plugin_->kv().seq_fork != nullptr; }
    // dst shares src's entries; returns how many entries dst holds afterwards (a manager may share only a prefix,
    // e.g. whole blocks: the caller feeds the rest).
    uint32_t fork(uint32_t src, uint32_t dst);
    void free(uint32_t seq);
    aph_kv_stats stats() const;

    const aph_kv_config& config() const { return cfg_; }
    uint64_t slot_count() const { return slots_; }
    const LoadedPlugin& plugin() const { return *plugin_; }
    // Cache tensors of a layer: [head_dim * n_kv_heads, slot_count] of the cache dtype.
    aph_tensor k_tensor(uint32_t layer) const;
    aph_tensor v_tensor(uint32_t layer) const;
    uint64_t bytes() const;

private:
    [[noreturn]] void fail(aph_status st, const aph_error& err, const std::string& what) const;
    std::shared_ptr<LoadedPlugin> plugin_;
    std::shared_ptr<BackendContext> backend_;
    aph_kv_config cfg_{};
    void* kv_ = nullptr;
    uint64_t slots_ = 0;
    std::vector<std::shared_ptr<Buffer>> k_, v_;
};

}  // namespace aprhost::core
