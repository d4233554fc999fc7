// The "paged" KV-cache manager (PagedAttention): the cache's slots are cut into n_blocks fixed blocks of
// block_size tokens. Each sequence owns a block table — the list of its blocks in attention order — so entry i of
// a sequence lives in slot table[i / block_size] * block_size + i % block_size, exactly the mapping of
// APH_OP_ATTENTION. Blocks come from a free list and carry reference counts so sequences can share them.
//
// Configuration: block_size = option "block_size", else cfg.block_size, else 16. n_blocks = ceil(capacity /
// block_size), so one sequence can always hold cfg.capacity tokens; slot_count = n_blocks * block_size.
// cfg.max_sequences is not a limit here: sequences cost nothing but their blocks, and blocks are the one bounded
// resource. Option "alloc_order" = "ascending" (default) | "descending" picks which end of the free list is
// handed out first; descending makes a sequence's table run backwards through the cache, which tests use to show
// that nothing downstream assumes a contiguous layout.
//
// Invariants (checked by the tests through the vtable):
//   * a sequence of n entries holds exactly ceil(n / block_size) blocks; only its last block may be partly filled;
//   * a block with refcount > 1 is always full, so nobody ever writes into a shared block (see fork);
//   * a block is on the free list iff its refcount is 0.
//
// Copy-on-write without copies. The manager cannot copy K/V bytes (the storage is backend buffers the host owns)
// and ABI 1.0 has no way to ask the host for a copy. So seq_fork(src, dst) shares only src's FULL blocks: dst
// gets floor(n_src / block_size) * block_size entries, all shared (refcount + 1, no new memory). The host-visible
// consequence: after a fork the host reads dst's n_kv from seq_block_table and re-feeds the remaining
// n_src % block_size tokens of the prefix to dst (their K/V are recomputed into a fresh block owned by dst).
// Because shared blocks are full, appends to either sequence go into unshared blocks and never touch shared data;
// a truncate that would leave a shared block partly filled (so that a later append would write into it) is
// refused with INVALID_ARGUMENT rather than allowed to corrupt the other sequence.
//
// Prefix cache (seq_append_tokens, ABI 1.2; option "prefix_cache" = 1 (default) | 0). Every full block written
// through seq_append_tokens is registered under a hash of its token ids chained with the previous block's hash
// (the block's ids are stored too and compared on a hit, so a hash collision cannot attach wrong K/V). A later
// empty sequence whose leading ids match attaches those blocks (refcount + 1) and computes only the rest; at
// least the last token is always left to compute so the host gets its logits. The cache holds one reference per
// registered block; when the free list runs short, cached blocks nobody else uses are evicted least recently
// used first. Registration happens when the slots are handed out, before the host has computed them, so
// seq_truncate (the host's rollback after a failed step) unregisters every cached block it drops.
//
// Failure: an append that needs more blocks than are free fails with APH_STATUS_EXHAUSTED and the message
// "KV cache exhausted (N blocks of M tokens)…", and changes nothing.
//
// Ownership: plain value type; the plugin trampolines own the instance (create/destroy on the same vtable).
#pragma once

#include <aprhost/plugin.hpp>

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace aprhost::kv {

class PagedKv {
public:
    // Validates cfg and the options ("block_size", "alloc_order"); throws INVALID_ARGUMENT with the reason.
    PagedKv(const aph_host_services* host, const aph_kv_config& cfg, const sdk::Options& opts);

    // n_blocks * block_size.
    uint64_t slot_count() const;
    // Appends n tokens to seq (created on first use), filling its last block before taking new blocks from the
    // free list. Throws Error(EXHAUSTED) when the free list is too short; nothing changes then.
    void seq_append(uint32_t seq, uint32_t n, int32_t* out_slots);
    // The sequence's blocks in attention order (exactly its blocks, no padding); n_blocks = 0 for an unknown seq.
    void seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks, uint32_t& block_size,
                         uint32_t& n_kv) const;
    // dst shares src's full blocks (see the header comment). dst must be empty or unknown; src == dst is an error.
    void seq_fork(uint32_t src, uint32_t dst);
    // Keeps the first n entries; blocks no longer needed lose one reference (freed at zero). INVALID_ARGUMENT when
    // n exceeds the length or would leave a shared block partly filled.
    void seq_truncate(uint32_t seq, uint32_t n);
    // Drops every block reference of seq; unknown seq is a no-op.
    void seq_free(uint32_t seq);
    // Prefix cache: see the header comment. seq must be empty or unknown.
    void seq_append_tokens(uint32_t seq, const int32_t* ids, uint32_t n, int32_t* out_slots, uint32_t& n_cached);
    // blocks_used counts distinct blocks (shared ones once); slots_used counts filled slots of those blocks.
    aph_kv_stats stats() const;

    // Introspection for white-box tests.
    uint32_t block_size() const { return block_size_; }
    uint32_t refcount(int32_t block) const { return refcount_.at(static_cast<size_t>(block)); }
    size_t free_blocks() const { return free_.size(); }

private:
    struct Seq {
        std::vector<int32_t> blocks; // attention order
        uint32_t n = 0;              // entries held
    };

    // Takes one block off the free list (refcount becomes 1).
    int32_t take_block();
    // Drops one reference; at zero the block goes back on the free list.
    void release_block(int32_t b);
    // Releases blocks[keep..] last-to-first, so the next appends take them back in their old order.
    void release_tail(Seq& s, size_t keep);
    [[noreturn]] void throw_exhausted(uint32_t seq, uint32_t n, uint64_t need) const;
    // Evicts cached blocks that only the cache holds (LRU) until `need` blocks are free; false when impossible.
    bool make_free(uint64_t need);
    uint64_t evictable() const;
    void uncache(int32_t block);

    struct CacheEntry {
        int32_t block;
        uint64_t parent;              // hash of the previous block (0 for the first)
        std::vector<int32_t> tokens;  // the block's ids, compared on a hit
        uint64_t last_use;
    };

    uint32_t block_size_ = 16;
    uint32_t n_blocks_ = 0;
    std::vector<uint32_t> refcount_;
    std::vector<int32_t> free_; // a stack: back() is handed out next
    std::unordered_map<uint32_t, Seq> seqs_;
    bool prefix_cache_ = true;
    std::unordered_map<uint64_t, CacheEntry> cache_;  // chained hash → entry
    std::unordered_map<int32_t, uint64_t> cached_block_;  // block → its hash in cache_
    uint64_t use_clock_ = 0;
    uint64_t evictions_ = 0;
};

}  // namespace aprhost::kv
