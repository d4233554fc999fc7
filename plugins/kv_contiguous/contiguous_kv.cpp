#include "contiguous_kv.hpp"

#include <cstddef>
#include <limits>
#include <string>

namespace aprhost::kv {

using sdk::Error;

ContiguousKv::ContiguousKv(const aph_host_services* /*host*/, const aph_kv_config& cfg, const sdk::Options& opts) {
    opts.require_known({});
    // Read only what the host's struct holds; every member up to max_sequences exists since ABI 1.0.
    if (cfg.struct_size < offsetof(aph_kv_config, max_sequences) + sizeof(cfg.max_sequences))
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "kv config struct_size " + std::to_string(cfg.struct_size) + " is smaller than ABI 1.0's");
    if (cfg.capacity == 0) throw Error(APH_STATUS_INVALID_ARGUMENT, "KV cache capacity is 0 tokens (--ctx)");
    // Slots travel as int32 in graphs and block tables.
    if (cfg.capacity > static_cast<uint32_t>(std::numeric_limits<int32_t>::max()))
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "KV cache capacity " + std::to_string(cfg.capacity) + " tokens exceeds the int32 slot range");
    const uint32_t n_seq = cfg.max_sequences == 0 ? 1 : cfg.max_sequences;
    if (n_seq > cfg.capacity)
        throw Error(APH_STATUS_INVALID_ARGUMENT, "KV cache capacity " + std::to_string(cfg.capacity) +
                                                     " tokens cannot hold " + std::to_string(n_seq) +
                                                     " sequences of at least one token");
    capacity_ = cfg.capacity;
    region_len_ = cfg.capacity / n_seq; // a remainder of capacity % n_seq slots is simply not used
    regions_.resize(n_seq);
}

uint64_t ContiguousKv::slot_count() const { return static_cast<uint64_t>(region_len_) * regions_.size(); }

int64_t ContiguousKv::region_of(uint32_t seq) const {
    auto it = seq_to_region_.find(seq);
    return it == seq_to_region_.end() ? -1 : static_cast<int64_t>(it->second);
}

void ContiguousKv::seq_append(uint32_t seq, uint32_t n, int32_t* out_slots) {
    if (n > 0 && !out_slots) throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_append: out_slots is NULL");
    int64_t r = region_of(seq);
    if (r < 0) {
        for (size_t i = 0; i < regions_.size() && r < 0; ++i)
            if (!regions_[i].in_use) r = static_cast<int64_t>(i);
        if (r < 0)
            throw Error(APH_STATUS_EXHAUSTED, "KV cache exhausted: all " + std::to_string(regions_.size()) +
                                                  " sequence regions are in use, cannot start sequence " +
                                                  std::to_string(seq));
    }
    Region& reg = regions_[static_cast<size_t>(r)];
    const uint32_t used = reg.in_use ? reg.used : 0;
    // Check before touching anything: a failed append leaves the cache exactly as it was.
    if (n > region_len_ - used)
        throw Error(APH_STATUS_EXHAUSTED,
                    "KV cache exhausted: sequence " + std::to_string(seq) + " holds " + std::to_string(used) +
                        " of " + std::to_string(region_len_) + " tokens, cannot add " + std::to_string(n) +
                        " (capacity " + std::to_string(capacity_) + ", raise --ctx)");
    if (!reg.in_use) {
        seq_to_region_.emplace(seq, static_cast<uint32_t>(r));
        reg = Region{true, seq, 0};
    }
    const int32_t base = static_cast<int32_t>(static_cast<uint64_t>(r) * region_len_ + reg.used);
    for (uint32_t i = 0; i < n; ++i) out_slots[i] = base + static_cast<int32_t>(i);
    reg.used += n;
}

void ContiguousKv::seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks,
                                   uint32_t& block_size, uint32_t& n_kv) const {
    block_size = region_len_;
    int64_t r = region_of(seq);
    n_kv = r < 0 ? 0 : regions_[static_cast<size_t>(r)].used;
    n_blocks = n_kv > 0 ? 1 : 0;
    if (n_blocks > 0 && cap >= 1) {
        if (!table) throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_block_table: table is NULL");
        table[0] = static_cast<int32_t>(r);
    }
}

void ContiguousKv::seq_truncate(uint32_t seq, uint32_t n) {
    int64_t r = region_of(seq);
    const uint32_t used = r < 0 ? 0 : regions_[static_cast<size_t>(r)].used;
    if (n > used)
        throw Error(APH_STATUS_INVALID_ARGUMENT, "cannot truncate sequence " + std::to_string(seq) + " to " +
                                                     std::to_string(n) + " tokens: it holds " +
                                                     std::to_string(used));
    if (r >= 0) regions_[static_cast<size_t>(r)].used = n;
}

void ContiguousKv::seq_free(uint32_t seq) {
    auto it = seq_to_region_.find(seq);
    if (it == seq_to_region_.end()) return;
    regions_[it->second] = Region{};
    seq_to_region_.erase(it);
}

aph_kv_stats ContiguousKv::stats() const {
    aph_kv_stats s{};
    s.struct_size = sizeof(aph_kv_stats);
    s.slots_total = slot_count();
    s.blocks_total = regions_.size();
    for (const Region& reg : regions_) {
        if (!reg.in_use) continue;
        s.slots_used += reg.used;
        s.blocks_used += 1;
    }
    s.evictions = 0;
    return s;
}

}  // namespace aprhost::kv
