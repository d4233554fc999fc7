// A minimal out-of-tree KV-cache manager: one sequence whose slots wrap around a ring (no error when full, the
// oldest entries are overwritten — only acceptable in a demo). Written against the installed SDK exactly as a
// third party would: a C++ class plus APRHOST_DECLARE_PLUGIN.
#include <aprhost/plugin.hpp>

#include <string>

namespace oot {

class RingKv {
public:
    RingKv(const aph_host_services*, const aph_kv_config& cfg, const aprhost::sdk::Options& opts)
        : slots_(cfg.capacity) {
        opts.require_known({"tag"});
        if (slots_ == 0) throw aprhost::sdk::Error(APH_STATUS_INVALID_ARGUMENT, "ring: capacity is 0");
    }
    uint64_t slot_count() const { return slots_; }
    void seq_append(uint32_t seq, uint32_t n, int32_t* out) {
        if (seq != 0) throw aprhost::sdk::Error(APH_STATUS_UNSUPPORTED, "ring: only sequence 0");
        for (uint32_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>((used_ + i) % slots_);
        used_ += n;
    }
    void seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks, uint32_t& block_size,
                         uint32_t& n_kv) const {
        n_kv = seq == 0 ? (used_ < slots_ ? used_ : slots_) : 0;
        block_size = slots_;
        n_blocks = n_kv ? 1 : 0;
        if (n_blocks && cap) table[0] = 0;
    }
    void seq_free(uint32_t) { used_ = 0; }
    aph_kv_stats stats() const {
        aph_kv_stats s{};
        s.slots_total = slots_;
        s.slots_used = used_ < slots_ ? used_ : slots_;
        s.evictions = used_ > slots_ ? used_ - slots_ : 0;
        return s;
    }
    static uint32_t score(std::string& reason) {
        reason = "out-of-tree demo";
        return 7;
    }

private:
    uint32_t slots_;
    uint32_t used_ = 0;
};

}  // namespace oot

APRHOST_DECLARE_PLUGIN(KV_CACHE, oot::RingKv, "oot_ring", "", "0.0.1", "out-of-tree packaging test plugin")
