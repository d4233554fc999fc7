// The "contiguous" KV-cache manager: the cache's slots are split into max_sequences equal regions, one linear
// region per sequence. A sequence's entry i lives in slot region * region_len + i, so its block table is a single
// block (the region index) whose block size is the region length. No sharing, no eviction: a full region is a
// clear APH_STATUS_EXHAUSTED error and nothing is overwritten. cfg.block_size is ignored (the block is the region).
//
// Ownership: plain value type; the plugin trampolines own the instance (create/destroy on the same vtable).
#pragma once

#include <aprhost/plugin.hpp>

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace aprhost::kv {

class ContiguousKv {
public:
    // Validates cfg (capacity > 0, max_sequences ≤ capacity, slots fit int32). Accepts no options.
    ContiguousKv(const aph_host_services* host, const aph_kv_config& cfg, const sdk::Options& opts);

    // Slots the host allocates per layer: region_len * max_sequences (≤ cfg.capacity).
    uint64_t slot_count() const;
    // Appends n tokens to seq (taking a free region on first use); out_slots receives n consecutive slots.
    // Throws Error(EXHAUSTED) when the region (or the set of regions) is full; state is unchanged then.
    void seq_append(uint32_t seq, uint32_t n, int32_t* out_slots);
    // One block (the region index) of block_size = region_len; n_blocks is 0 for an unknown or empty sequence.
    void seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks, uint32_t& block_size,
                         uint32_t& n_kv) const;
    // Keeps the first n entries; n larger than the sequence's length is INVALID_ARGUMENT.
    void seq_truncate(uint32_t seq, uint32_t n);
    // Releases seq's region; unknown seq is a no-op.
    void seq_free(uint32_t seq);
    aph_kv_stats stats() const;

private:
    struct Region {
        bool in_use = false;
        uint32_t seq = 0;
        uint32_t used = 0; // entries held
    };

    // Index of seq's region, or -1 when seq holds none.
    int64_t region_of(uint32_t seq) const;

    uint32_t capacity_ = 0;   // cfg.capacity as requested (for messages)
    uint32_t region_len_ = 0; // tokens per sequence
    std::vector<Region> regions_;
    std::unordered_map<uint32_t, uint32_t> seq_to_region_;
};

}  // namespace aprhost::kv
