#include "streaming_kv.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

namespace aprhost::kv {

using sdk::Error;

namespace {
std::string str(uint64_t v) { return std::to_string(v); }
} // namespace

StreamingKv::StreamingKv(const aph_host_services* /*host*/, const aph_kv_config& cfg, const sdk::Options& opts) {
    opts.require_known({"sinks", "window"});
    if (cfg.struct_size < offsetof(aph_kv_config, max_sequences) + sizeof(cfg.max_sequences))
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "kv config struct_size " + str(cfg.struct_size) + " is smaller than ABI 1.0's");
    n_regions_ = cfg.max_sequences == 0 ? 1 : cfg.max_sequences;
    const uint64_t per_seq = cfg.capacity / n_regions_;

    const long long sinks = opts.get_int("sinks", 4);
    if (sinks < 0 || sinks > std::numeric_limits<int32_t>::max())
        throw Error(APH_STATUS_INVALID_ARGUMENT, "sinks " + std::to_string(sinks) + " must be >= 0");
    const long long window = opts.has("window") ? opts.get_int("window", 0)
                                                : static_cast<long long>(per_seq) - sinks;
    if (window < 1) {
        if (opts.has("window"))
            throw Error(APH_STATUS_INVALID_ARGUMENT, "window " + std::to_string(window) + " must be >= 1 token");
        throw Error(APH_STATUS_INVALID_ARGUMENT,
                    "KV cache capacity " + str(cfg.capacity) + " tokens (" + str(per_seq) + " per sequence) leaves no "
                    "sliding window after " + std::to_string(sinks) + " sinks (raise --ctx or set window)");
    }
    // Slots travel as int32 in graphs and block tables.
    if (uint64_t(n_regions_) * uint64_t(sinks + window) > uint64_t(std::numeric_limits<int32_t>::max()))
        throw Error(APH_STATUS_INVALID_ARGUMENT, "sinks + window of " + std::to_string(sinks + window) + " tokens x " +
                                                     str(n_regions_) + " sequences exceeds the int32 slot range");
    sinks_ = static_cast<uint32_t>(sinks);
    window_ = static_cast<uint32_t>(window);
    region_used_.assign(n_regions_, false);
}

uint64_t StreamingKv::slot_count() const { return uint64_t(n_regions_) * (uint64_t(sinks_) + window_); }

int32_t StreamingKv::slot_of(const Seq& s, uint64_t t) const {
    const uint64_t base = uint64_t(s.region) * (uint64_t(sinks_) + window_);
    return static_cast<int32_t>(t < sinks_ ? base + t : base + sinks_ + (t - sinks_) % window_);
}

uint64_t StreamingKv::kept(const Seq& s) const {
    return std::min<uint64_t>(s.total, sinks_) + (s.total > s.first ? s.total - s.first : 0);
}

void StreamingKv::seq_append(uint32_t seq, uint32_t n, int32_t* out_slots) {
    if (n == 0) return;
    if (!out_slots) throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_append: out_slots is NULL");
    auto it = seqs_.find(seq);
    const uint64_t total = it == seqs_.end() ? 0 : it->second.total;
    // All n new tokens are attended by this step's queries, so they must all be kept: at most W in the window.
    const uint64_t end = total + n;
    const uint64_t in_window = end > sinks_ ? end - std::max<uint64_t>(total, sinks_) : 0;
    if (in_window > window_)
        throw Error(APH_STATUS_EXHAUSTED, "KV cache exhausted: cannot append " + str(n) + " tokens at once to sequence " +
                                              str(seq) + ": the streaming window keeps " + str(window_) +
                                              " tokens after " + str(sinks_) +
                                              " sinks (split the batch into chunks of at most " + str(window_) +
                                              " tokens, or raise --ctx / window)");
    uint32_t region = 0;
    if (it == seqs_.end()) {
        auto free_region = std::find(region_used_.begin(), region_used_.end(), false);
        if (free_region == region_used_.end())
            throw Error(APH_STATUS_EXHAUSTED, "KV cache exhausted: all " + str(n_regions_) +
                                                  " sequence regions are in use, cannot start sequence " + str(seq));
        region = static_cast<uint32_t>(free_region - region_used_.begin());
    }
    // Nothing can fail past this point.
    if (it == seqs_.end()) {
        region_used_[region] = true;
        Seq fresh;
        fresh.region = region;
        fresh.first = sinks_;
        it = seqs_.emplace(seq, fresh).first;
    }
    Seq& s = it->second;
    for (uint32_t i = 0; i < n; ++i) {
        const uint64_t t = s.total;
        if (t >= sinks_ && t - s.first == window_) { // window full: the new token takes the oldest one's slot
            ++s.first;
            ++evictions_;
        }
        out_slots[i] = slot_of(s, t);
        ++s.total;
    }
}

void StreamingKv::seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks,
                                  uint32_t& block_size, uint32_t& n_kv) const {
    block_size = 1;
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) {
        n_blocks = 0;
        n_kv = 0;
        return;
    }
    const Seq& s = it->second;
    n_kv = static_cast<uint32_t>(kept(s));
    n_blocks = n_kv;
    if (std::min(cap, n_blocks) > 0 && !table) throw Error(APH_STATUS_INVALID_ARGUMENT, "seq_block_table: table is NULL");
    uint32_t k = 0;
    const uint64_t n_sinks = std::min<uint64_t>(s.total, sinks_);
    for (uint64_t t = 0; t < n_sinks && k < cap; ++t) table[k++] = slot_of(s, t);
    for (uint64_t t = s.first; t < s.total && k < cap; ++t) table[k++] = slot_of(s, t);
}

void StreamingKv::seq_truncate(uint32_t seq, uint32_t n) {
    auto it = seqs_.find(seq);
    const uint64_t total = it == seqs_.end() ? 0 : it->second.total;
    if (n > total)
        throw Error(APH_STATUS_INVALID_ARGUMENT, "cannot truncate sequence " + str(seq) + " to " + str(n) +
                                                     " tokens: it holds " + str(total));
    if (it == seqs_.end() || n == total) return;
    Seq& s = it->second;
    // Tokens n..total-1 are dropped; every one of them past the sinks must still be in the window.
    const uint64_t lo = std::max<uint64_t>(n, sinks_);
    if (lo < total && lo < s.first)
        throw Error(APH_STATUS_INVALID_ARGUMENT, "cannot truncate sequence " + str(seq) + " to " + str(n) +
                                                     " tokens: token " + str(lo) +
                                                     " was already evicted from the streaming window (oldest kept: " +
                                                     str(s.first) + ")");
    s.total = n;
    if (n == 0) seq_free(seq);
}

void StreamingKv::seq_free(uint32_t seq) {
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) return;
    region_used_[it->second.region] = false;
    seqs_.erase(it);
}

aph_kv_stats StreamingKv::stats() const {
    aph_kv_stats st{};
    st.struct_size = sizeof(aph_kv_stats);
    st.slots_total = slot_count();
    st.blocks_total = st.slots_total;
    for (const auto& [id, s] : seqs_) st.slots_used += kept(s);
    st.blocks_used = st.slots_used;
    st.evictions = evictions_;
    return st;
}

}  // namespace aprhost::kv
