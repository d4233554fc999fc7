#include "paged_kv.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

namespace aprhost::kv {

using sdk::Error;

namespace {
std::string str(uint64_t v) { return std::to_string(v); }
} // namespace

PagedKv::PagedKv(const aph_host_services* /*host*/, const aph_kv_config& cfg, const sdk::Options& opts) {
    opts.require_known({"block_size", "alloc_order", "prefix_cache"});
    const long long pc = opts.get_int("prefix_cache", 1);
    if (pc != 0 && pc != 1) throw Error(APH_STATUS_INVALID_ARGUMENT, "prefix_cache must be 0 or 1");
    prefix_cache_ = pc == 1;
    if (cfg.struct_size < offsetof(aph_kv_config, max_sequences) + sizeof(cfg.max_sequences))
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "kv config struct_size " + str(cfg.struct_size) + " is smaller than ABI 1.0's");
    if (cfg.capacity == 0) throw Error(APH_STATUS_INVALID_ARGUMENT, "KV cache capacity is 0 tokens (--ctx)");

    long long bs = opts.get_int("block_size", cfg.block_size == 0 ? 16 : cfg.block_size);
    if (bs < 1 || bs > 65536)
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "block_size " + std::to_string(bs) + " is outside [1, 65536] tokens");
    block_size_ = static_cast<uint32_t>(bs);
    const uint64_t n_blocks = (uint64_t(cfg.capacity) + block_size_ - 1) / block_size_;
    // Slots travel as int32 in graphs and block tables.
    if (n_blocks * block_size_ > uint64_t(std::numeric_limits<int32_t>::max()))
        throw Error(APH_STATUS_INVALID_ARGUMENT, "KV cache of " + str(n_blocks) + " blocks of " + str(block_size_) +
                                                     " tokens exceeds the int32 slot range");
    n_blocks_ = static_cast<uint32_t>(n_blocks);

    const std::string order = opts.get("alloc_order", "ascending");
    if (order != "ascending" && order != "descending")
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "alloc_order '" + order + "' is not one of: ascending, descending");
    refcount_.assign(n_blocks_, 0);
    free_.reserve(n_blocks_);
    // The stack's back is handed out first.
    for (uint32_t i = 0; i < n_blocks_; ++i)
        free_.push_back(static_cast<int32_t>(order == "ascending" ? n_blocks_ - 1 - i : i));
}

uint64_t PagedKv::slot_count() const { return uint64_t(n_blocks_) * block_size_; }

int32_t PagedKv::take_block() {
    int32_t b = free_.back();
    free_.pop_back();
    refcount_[size_t(b)] = 1;
    return b;
}

void PagedKv::release_block(int32_t b) {
    uint32_t& rc = refcount_[size_t(b)];
    if (rc == 0) throw Error(APH_STATUS_INTERNAL, "paged KV: block " + std::to_string(b) + " released twice");
    if (--rc == 0) free_.push_back(b);
}

void PagedKv::release_tail(Seq& s, size_t keep) {
    while (s.blocks.size() > keep) {
        release_block(s.blocks.back());
        s.blocks.pop_back();
    }
}

void PagedKv::throw_exhausted(uint32_t seq, uint32_t n, uint64_t need) const {
    throw Error(APH_STATUS_EXHAUSTED, "KV cache exhausted (" + str(n_blocks_) + " blocks of " + str(block_size_) +
                                          " tokens): sequence " + str(seq) + " needs " + str(need) +
                                          " more blocks for " + str(n) + " tokens, " + str(free_.size()) +
                                          " are free (raise --ctx)");
}

void PagedKv::seq_append(uint32_t seq, uint32_t n, int32_t* out_slots) {
    if (n == 0) return;
    if (!out_slots) throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_append: out_slots is NULL");
    auto it = seqs_.find(seq);
    const uint32_t used = it == seqs_.end() ? 0 : it->second.n;
    const uint64_t held = it == seqs_.end() ? 0 : it->second.blocks.size();
    const uint64_t room = held * block_size_ - used; // free slots of the last, partly filled block
    // Shared blocks are full by construction (fork shares full blocks, truncate refuses to expose a shared tail),
    // so the partly filled block appended into is never shared. Check it anyway: breaking this corrupts others.
    if (room > 0 && refcount_[size_t(it->second.blocks.back())] != 1)
        throw Error(APH_STATUS_INTERNAL, "paged KV: sequence " + str(seq) + " would write into a shared block");
    const uint64_t need = n > room ? (uint64_t(n) - room + block_size_ - 1) / block_size_ : 0;
    // Check before touching anything: a failed append leaves the cache exactly as it was (cache-only blocks may
    // be evicted to make room, which no sequence can observe).
    if (need > free_.size() + evictable()) throw_exhausted(seq, n, need);
    make_free(need);
    if (uint64_t(used) + n > std::numeric_limits<uint32_t>::max())
        throw Error(APH_STATUS_INVALID_ARGUMENT, "sequence " + str(seq) + " would exceed 2^32 entries");

    Seq& s = it == seqs_.end() ? seqs_[seq] : it->second;
    for (uint64_t i = 0; i < need; ++i) s.blocks.push_back(take_block());
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t e = used + i;
        out_slots[i] = s.blocks[e / block_size_] * int32_t(block_size_) + int32_t(e % block_size_);
    }
    s.n = used + n;
}

void PagedKv::seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks,
                              uint32_t& block_size, uint32_t& n_kv) const {
    block_size = block_size_;
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) {
        n_blocks = 0;
        n_kv = 0;
        return;
    }
    const Seq& s = it->second;
    n_blocks = uint32_t(s.blocks.size());
    n_kv = s.n;
    const uint32_t copy = n_blocks < cap ? n_blocks : cap;
    if (copy > 0 && !table) throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_block_table: table is NULL");
    for (uint32_t i = 0; i < copy; ++i) table[i] = s.blocks[i];
}

void PagedKv::seq_fork(uint32_t src, uint32_t dst) {
    if (src == dst) throw Error(APH_STATUS_INVALID_ARGUMENT, "cannot fork sequence " + str(src) + " onto itself");
    auto d = seqs_.find(dst);
    if (d != seqs_.end() && d->second.n > 0)
        throw Error(APH_STATUS_INVALID_ARGUMENT, "cannot fork into sequence " + str(dst) + ": it holds " +
                                                     str(d->second.n) + " tokens (free it first)");
    auto s = seqs_.find(src);
    if (s == seqs_.end()) return; // nothing to share: dst stays empty
    // Only full blocks are shared (see the header): dst gets a whole-block prefix of src.
    const uint32_t full = s->second.n / block_size_;
    if (full == 0) return;
    Seq child;
    child.blocks.assign(s->second.blocks.begin(), s->second.blocks.begin() + full);
    child.n = full * block_size_;
    for (int32_t b : child.blocks) ++refcount_[size_t(b)];
    seqs_[dst] = std::move(child);
}

void PagedKv::seq_truncate(uint32_t seq, uint32_t n) {
    auto it = seqs_.find(seq);
    const uint32_t used = it == seqs_.end() ? 0 : it->second.n;
    if (n > used)
        throw Error(APH_STATUS_INVALID_ARGUMENT, "cannot truncate sequence " + str(seq) + " to " + str(n) +
                                                     " tokens: it holds " + str(used));
    if (it == seqs_.end() || n == used) return;
    Seq& s = it->second;
    const size_t keep = (size_t(n) + block_size_ - 1) / block_size_;
    if (n % block_size_ != 0 && refcount_[size_t(s.blocks[keep - 1])] > 1)
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "cannot truncate sequence " + str(seq) + " to " + str(n) + " tokens: block " +
                        str(uint64_t(s.blocks[keep - 1])) + " is shared with " +
                        str(refcount_[size_t(s.blocks[keep - 1])] - 1) +
                        " other sequence(s) and would be left partly filled (copy-on-write needs a host copy); "
                        "truncate to a multiple of " + str(block_size_) + " instead");
    // A rollback drops blocks whose K/V may never have been computed: forget them in the prefix cache.
    for (size_t i = keep; i < s.blocks.size(); ++i) uncache(s.blocks[i]);
    release_tail(s, keep);
    s.n = n;
    if (n == 0) seqs_.erase(it);
}

void PagedKv::seq_free(uint32_t seq) {
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) return;
    release_tail(it->second, 0);
    seqs_.erase(it);
}

aph_kv_stats PagedKv::stats() const {
    aph_kv_stats st{};
    st.struct_size = sizeof(aph_kv_stats);
    st.slots_total = slot_count();
    st.blocks_total = n_blocks_;
    st.blocks_used = n_blocks_ - free_.size();
    // Shared blocks are full, and a partly filled block belongs to exactly one sequence (its last block).
    uint64_t partial = 0, partial_fill = 0;
    for (const auto& [id, s] : seqs_) {
        if (s.n % block_size_ == 0) continue;
        ++partial;
        partial_fill += s.n % block_size_;
    }
    st.slots_used = (st.blocks_used - partial) * block_size_ + partial_fill;
    st.evictions = evictions_;
    return st;
}

namespace {
// FNV-1a over the block's ids, seeded with the parent's hash: equal hashes mean equal prefixes (up to collisions,
// which the stored ids rule out on a hit).
uint64_t chain_hash(uint64_t parent, const int32_t* ids, uint32_t n) {
    uint64_t h = parent ^ 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t v = static_cast<uint32_t>(ids[i]);
        for (int b = 0; b < 4; ++b) h = (h ^ ((v >> (8 * b)) & 0xff)) * 0x100000001b3ull;
    }
    return h == 0 ? 1 : h;
}
}  // namespace

uint64_t PagedKv::evictable() const {
    uint64_t n = 0;
    for (const auto& [b, h] : cached_block_) n += refcount_[size_t(b)] == 1;
    return n;
}

void PagedKv::uncache(int32_t block) {
    auto it = cached_block_.find(block);
    if (it == cached_block_.end()) return;
    cache_.erase(it->second);
    cached_block_.erase(it);
    release_block(block);  // the cache's reference
}

bool PagedKv::make_free(uint64_t need) {
    while (free_.size() < need) {
        // Least recently used block that only the cache holds.
        const CacheEntry* victim = nullptr;
        for (const auto& [h, e] : cache_)
            if (refcount_[size_t(e.block)] == 1 && (!victim || e.last_use < victim->last_use)) victim = &e;
        if (!victim) return false;
        uncache(victim->block);
        ++evictions_;
    }
    return true;
}

void PagedKv::seq_append_tokens(uint32_t seq, const int32_t* ids, uint32_t n, int32_t* out_slots,
                                uint32_t& n_cached) {
    n_cached = 0;
    if (n == 0) return;
    if (!ids || !out_slots) throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_append_tokens: NULL ids or out_slots");
    auto existing = seqs_.find(seq);
    if (existing != seqs_.end() && existing->second.n > 0)
        throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_append_tokens: sequence " + str(seq) + " is not empty");
    if (!prefix_cache_) return seq_append(seq, n, out_slots);

    // 1. Attach the longest cached run of whole blocks, leaving at least one token to compute.
    std::vector<int32_t> attach;
    std::vector<uint64_t> hashes;  // chained hash of every full block of ids
    uint64_t parent = 0;
    for (uint32_t k = 0; uint64_t(k + 1) * block_size_ <= n; ++k) {
        parent = chain_hash(parent, ids + size_t(k) * block_size_, block_size_);
        hashes.push_back(parent);
    }
    for (size_t k = 0; k < hashes.size() && uint64_t(k + 1) * block_size_ <= uint64_t(n) - 1; ++k) {
        auto hit = cache_.find(hashes[k]);
        if (hit == cache_.end() || hit->second.parent != (k ? hashes[k - 1] : 0) ||
            !std::equal(hit->second.tokens.begin(), hit->second.tokens.end(), ids + k * block_size_))
            break;
        attach.push_back(hit->second.block);
        hit->second.last_use = ++use_clock_;
    }
    Seq& s = seqs_[seq];
    for (int32_t b : attach) ++refcount_[size_t(b)];
    s.blocks = attach;
    s.n = uint32_t(attach.size()) * block_size_;
    n_cached = s.n;

    // 2. Append the rest like seq_append; undo the attach if it does not fit.
    try {
        seq_append(seq, n - n_cached, out_slots);
    } catch (...) {
        release_tail(seqs_[seq], 0);
        seqs_.erase(seq);
        n_cached = 0;
        throw;
    }
    // 3. Register this sequence's new full blocks (the cache takes a reference of its own).
    Seq& done = seqs_[seq];
    for (size_t k = attach.size(); k < hashes.size(); ++k) {
        const int32_t b = done.blocks[k];
        if (cache_.count(hashes[k]) || cached_block_.count(b)) continue;
        CacheEntry e{b, k ? hashes[k - 1] : 0,
                     std::vector<int32_t>(ids + k * block_size_, ids + (k + 1) * block_size_), ++use_clock_};
        cache_.emplace(hashes[k], std::move(e));
        cached_block_[b] = hashes[k];
        ++refcount_[size_t(b)];
    }
}

}  // namespace aprhost::kv
