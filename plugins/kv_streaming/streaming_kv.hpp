// The "streaming" KV-cache manager (StreamingLLM): each sequence keeps its first S tokens ("attention sinks")
// and a sliding window of its last W tokens, so generation can run forever in S + W slots per sequence.
//
// Options: "sinks" (S, default 4) and "window" (W, default capacity / max_sequences − S). Each sequence owns a
// region of S + W slots; slot_count = max_sequences * (S + W) (max_sequences 0 means 1).
//
// Layout: within a region, token t (counting every token ever appended to the sequence, its "logical index")
// lives in slot t when t < S, else in slot S + (t − S) mod W — a ring, so appending to a full window reuses
// exactly the slot of the oldest non-sink token (that token is evicted). seq_append therefore never fails for
// one sequence (only starting a sequence when every region is taken is EXHAUSTED).
//
// Block table: block_size 1, the table is the slot list of the kept entries in attention order: the sinks, then
// the window oldest → newest. n_kv = entries kept (≤ S + W), not the number of tokens ever appended.
//
// Positions (decision): the host stores K AFTER RoPE (transformer_graph: rope, then kv_store), each token rotated
// by its true absolute position, and queries are rotated by theirs. Since RoPE makes q·k depend only on the
// position difference, attention over the kept entries is exactly "full attention restricted to the kept
// tokens" — no re-rotation when entries move or are evicted, and nothing position-related is stored here. The
// cost, compared with the StreamingLLM paper (which stores K before RoPE and rotates by in-cache position), is
// that positions and sink distances keep growing past the model's training context; matching the paper would
// need pre-RoPE K in the cache and a position-aware ATTENTION op (an ABI change).
//
// One append of n tokens: every new token must be attended by the step's own queries, so all of them must be
// kept at once: at most W of them may land in the window (n ≤ W + free sink slots). Larger appends are refused
// with EXHAUSTED naming W (the host should split prefill into chunks of ≤ W tokens). Within one multi-token
// append that evicts, query j sees the window as it is after the whole append (W − n + j + 1 window entries);
// single-token decode sees exactly the sinks + the last W tokens.
//
// Truncate (rollback): n counts logical tokens, like the host's n_past (for managers that never evict this is
// the same as "the first n entries"). Keeping the first n tokens means dropping tokens n..end, which must all
// still be held; tokens evicted by the appends being rolled back are not restored (the window is just shorter
// until it fills again).
//
// Ownership: plain value type; the plugin trampolines own the instance (create/destroy on the same vtable).
#pragma once

#include <aprhost/plugin.hpp>

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace aprhost::kv {

class StreamingKv {
public:
    // Validates cfg and the options ("sinks", "window"); throws INVALID_ARGUMENT with the reason.
    StreamingKv(const aph_host_services* host, const aph_kv_config& cfg, const sdk::Options& opts);

    uint64_t slot_count() const;
    // Appends n tokens to seq, evicting the oldest window entries when the window is full. EXHAUSTED when more
    // than W of the n tokens would land in the window, or seq is new and every region is taken; nothing changes.
    void seq_append(uint32_t seq, uint32_t n, int32_t* out_slots);
    // block_size 1; table = slots of the sinks, then of the window oldest → newest.
    void seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks, uint32_t& block_size,
                         uint32_t& n_kv) const;
    // Keeps logical tokens 0..n−1 (see the header comment). INVALID_ARGUMENT when n exceeds the tokens appended
    // or a token to drop was already evicted.
    void seq_truncate(uint32_t seq, uint32_t n);
    void seq_free(uint32_t seq);
    // blocks == slots (block_size 1); evictions counts window entries overwritten since creation.
    aph_kv_stats stats() const;

    uint32_t sinks() const { return sinks_; }
    uint32_t window() const { return window_; }

private:
    struct Seq {
        uint32_t region = 0;
        uint64_t total = 0; // tokens ever appended (logical length)
        uint64_t first = 0; // logical index of the oldest kept window token (≥ sinks_)
    };
    int32_t slot_of(const Seq& s, uint64_t t) const;
    uint64_t kept(const Seq& s) const;

    uint32_t sinks_ = 4;
    uint32_t window_ = 0;
    uint32_t n_regions_ = 1;
    uint64_t evictions_ = 0;
    std::vector<bool> region_used_;
    std::unordered_map<uint32_t, Seq> seqs_;
};

}  // namespace aprhost::kv
