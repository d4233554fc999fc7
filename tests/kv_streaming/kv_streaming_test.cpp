// The streaming (StreamingLLM) KV-cache manager through its C vtable: sinks + sliding window, eviction order,
// block table contents, long runs in bounded memory, truncate, several sequences, and attention through the
// block table against the SDK reference over exactly the kept tokens' post-RoPE K/V.
#include "kv_plugin_handle.hpp"

#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using aprhost::test::kv_config;
using aprhost::test::KvHandle;

namespace {

std::vector<int32_t> range(int32_t first, int32_t last_exclusive) {
    std::vector<int32_t> v;
    for (int32_t i = first; i < last_exclusive; ++i) v.push_back(i);
    return v;
}

// The kept logical tokens of a stream of `total` tokens: sinks 0..S-1, then the last W (never overlapping).
std::vector<uint64_t> kept_tokens(uint64_t total, uint64_t S, uint64_t W) {
    std::vector<uint64_t> v;
    for (uint64_t t = 0; t < std::min(total, S); ++t) v.push_back(t);
    for (uint64_t t = std::max(S, total > W ? total - W : 0); t < total; ++t) v.push_back(t);
    return v;
}

}  // namespace

TEST_CASE("streaming: vtable shape", "[kv][streaming]") {
    const aph_kv_vtable* vt = aprhost::test::kv_plugin_vtable("streaming");
    CHECK(vt->struct_size == sizeof(aph_kv_vtable));
    CHECK(vt->seq_append != nullptr);
    CHECK(vt->seq_block_table != nullptr);
    CHECK(vt->seq_truncate != nullptr);
    CHECK(vt->seq_free != nullptr);
    CHECK(vt->stats != nullptr);
    CHECK(vt->seq_fork == nullptr); // sharing a window would need a K/V copy the manager cannot make
}

TEST_CASE("streaming: sinks and window from the defaults and the options", "[kv][streaming]") {
    {
        KvHandle kv("streaming", kv_config(64)); // sinks 4, window 60
        CHECK(kv.slot_count() == 64);
    }
    {
        KvHandle kv("streaming", kv_config(64), {{"sinks", "2"}, {"window", "10"}});
        CHECK(kv.slot_count() == 12);
    }
    {
        KvHandle kv("streaming", kv_config(64, 2), {{"sinks", "0"}}); // two regions of 32
        CHECK(kv.slot_count() == 64);
    }
    aph_error err{};
    using aprhost::test::kv_try_create;
    CHECK(kv_try_create("streaming", kv_config(4), {}, err) == APH_STATUS_INVALID_ARGUMENT); // no room after sinks
    CHECK(std::string(err.message).find("leaves no sliding window after 4 sinks") != std::string::npos);
    CHECK(kv_try_create("streaming", kv_config(64), {{"window", "0"}}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(kv_try_create("streaming", kv_config(64), {{"sinks", "-1"}}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(kv_try_create("streaming", kv_config(64), {{"block_size", "4"}}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("unknown option 'block_size'") != std::string::npos);
}

TEST_CASE("streaming: the window fills, then each append evicts the oldest non-sink entry", "[kv][streaming]") {
    KvHandle kv("streaming", kv_config(64), {{"sinks", "2"}, {"window", "4"}});
    CHECK(kv.append_ok(0, 6) == range(0, 6)); // sinks + a full window in one append
    auto t = kv.table(0);
    CHECK(t.block_size == 1);
    CHECK(t.n_kv == 6);
    CHECK(t.blocks == range(0, 6));
    CHECK(kv.stats().evictions == 0);

    // Token 6 takes the slot of token 2 (the oldest window entry); sinks 0, 1 stay.
    CHECK(kv.append_ok(0, 1) == std::vector<int32_t>{2});
    t = kv.table(0);
    CHECK(t.n_kv == 6);
    CHECK(t.blocks == (std::vector<int32_t>{0, 1, 3, 4, 5, 2}));
    CHECK(kv.stats().evictions == 1);

    // Two at once: tokens 7, 8 take the slots of tokens 3, 4; the table is sinks, then 5, 6, 7, 8.
    CHECK(kv.append_ok(0, 2) == (std::vector<int32_t>{3, 4}));
    CHECK(kv.table(0).blocks == (std::vector<int32_t>{0, 1, 5, 2, 3, 4}));
    aph_kv_stats s = kv.stats();
    CHECK(s.evictions == 3);
    CHECK(s.slots_used == 6);
    CHECK(s.slots_total == 6);
    CHECK(s.blocks_used == 6);
}

TEST_CASE("streaming: an append larger than the window is refused and changes nothing", "[kv][streaming]") {
    KvHandle kv("streaming", kv_config(64), {{"sinks", "2"}, {"window", "4"}});
    std::vector<int32_t> slots;
    CHECK(kv.append(0, 7, slots) == APH_STATUS_EXHAUSTED); // 2 sinks + 5 window > 4
    std::string msg = kv.message();
    CHECK(msg.find("cannot append 7 tokens at once") != std::string::npos);
    CHECK(msg.find("chunks of at most 4 tokens") != std::string::npos);
    CHECK(slots == std::vector<int32_t>(7, -1));
    CHECK(kv.table(0).n_kv == 0);
    CHECK(kv.stats().slots_used == 0);

    kv.append_ok(0, 3);
    CHECK(kv.append(0, 5, slots) == APH_STATUS_EXHAUSTED);
    CHECK(kv.table(0).n_kv == 3);
    CHECK(kv.append_ok(0, 4).size() == 4); // exactly a window's worth is fine (evicts one)
    CHECK(kv.table(0).n_kv == 6);
}

TEST_CASE("streaming: 100000 appends in bounded memory keep sinks + the last W in order", "[kv][streaming]") {
    const uint32_t S = 4, W = 28;
    KvHandle kv("streaming", kv_config(32)); // defaults: sinks 4, window 28
    REQUIRE(kv.slot_count() == S + W);
    std::vector<uint64_t> content(S + W, ~0ull); // logical token held by each slot
    const uint64_t N = 100000;
    for (uint64_t t = 0; t < N; ++t) {
        const uint32_t n = (t % 1000 == 999 && t + 3 <= N) ? 3 : 1; // mix in a few multi-token appends
        std::vector<int32_t> slots;
        REQUIRE(kv.append(0, n, slots) == APH_OK);
        for (uint32_t i = 0; i < n; ++i) {
            REQUIRE(slots[i] >= 0);
            REQUIRE(uint64_t(slots[i]) < S + W);
            content[size_t(slots[i])] = t + i;
        }
        t += n - 1;
        if (t % 997 == 0 || t + 1 == N) {
            auto table = kv.table(0);
            auto want = kept_tokens(t + 1, S, W);
            REQUIRE(table.n_kv == want.size());
            for (uint32_t i = 0; i < table.n_kv; ++i) REQUIRE(content[size_t(table.slot(i))] == want[i]);
        }
    }
    aph_kv_stats s = kv.stats();
    CHECK(s.slots_total == S + W);
    CHECK(s.slots_used == S + W);
    CHECK(s.evictions == N - S - W);
}

TEST_CASE("streaming: truncate rolls back the newest tokens, never past an eviction", "[kv][streaming]") {
    KvHandle kv("streaming", kv_config(64), {{"sinks", "2"}, {"window", "4"}});
    kv.append_ok(0, 5); // 0..4: sinks 0, 1; window 2, 3, 4
    REQUIRE(kv.truncate(0, 3) == APH_OK);
    CHECK(kv.table(0).blocks == range(0, 3));
    CHECK(kv.append_ok(0, 1) == std::vector<int32_t>{3}); // token 3 again, same slot
    REQUIRE(kv.truncate(0, 1) == APH_OK);                  // into the sinks: nothing was evicted yet
    CHECK(kv.table(0).blocks == std::vector<int32_t>{0});

    for (int i = 0; i < 9; ++i) kv.append_ok(0, 1); // tokens 1..9: the window keeps 6..9 in slots 2..5 (tokens 2..5 were evicted)
    CHECK(kv.table(0).blocks == range(0, 6));
    CHECK(kv.stats().evictions == 4);
    CHECK(kv.truncate(0, 12) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(kv.message()).find("holds 10") != std::string::npos);
    CHECK(kv.truncate(0, 5) == APH_STATUS_INVALID_ARGUMENT); // token 5 is gone
    CHECK(std::string(kv.message()).find("token 5 was already evicted") != std::string::npos);
    CHECK(kv.table(0).n_kv == 6);

    // Rolling back tokens 8, 9 (the host's n_past before a failed 2-token step) keeps 6, 7; the window is
    // shorter until it fills again, and the next tokens reuse 8's and 9's slots.
    REQUIRE(kv.truncate(0, 8) == APH_OK);
    CHECK(kv.table(0).blocks == range(0, 4));
    CHECK(kv.append_ok(0, 2) == (std::vector<int32_t>{4, 5}));
    CHECK(kv.stats().evictions == 4);
    CHECK(kv.append_ok(0, 1) == std::vector<int32_t>{2}); // token 10 evicts token 6
    CHECK(kv.table(0).blocks == (std::vector<int32_t>{0, 1, 3, 4, 5, 2}));
    CHECK(kv.stats().evictions == 5);
}

TEST_CASE("streaming: sequences get their own regions", "[kv][streaming]") {
    KvHandle kv("streaming", kv_config(20, 2), {{"sinks", "1"}}); // regions of 10: 1 sink + 9
    CHECK(kv.slot_count() == 20);
    kv.append_ok(7, 3);
    CHECK(kv.append_ok(9, 2) == (std::vector<int32_t>{10, 11}));
    std::vector<int32_t> slots;
    CHECK(kv.append(3, 1, slots) == APH_STATUS_EXHAUSTED);
    CHECK(std::string(kv.message()).find("all 2 sequence regions are in use") != std::string::npos);
    for (int i = 0; i < 30; ++i) kv.append_ok(9, 1);
    for (int32_t s : kv.table(9).blocks) CHECK((s >= 10 && s < 20));
    CHECK(kv.table(7).blocks == range(0, 3));
    CHECK(kv.stats().slots_used == 13);
    kv.free(7);
    CHECK(kv.append_ok(3, 1) == std::vector<int32_t>{0});
}

// What the host's ATTENTION sees through the block table, against attention over exactly the kept tokens: every
// token's K is rotated by its absolute position before it is stored (the host does RoPE, then KV_STORE), the
// query by its own, and the reference attends over the kept tokens' post-RoPE K/V listed independently of the
// manager. Single-token steps see the sinks + the last W tokens; a multi-token step's query j sees the kept
// entries up to itself.
TEST_CASE("streaming: attention through the block table equals the reference over the kept tokens",
          "[kv][streaming][reference]") {
    namespace ref = aprhost::ref;
    const int64_t hd = 8, heads = 4, kv_heads = 2, row = hd * kv_heads;
    const uint32_t S = 2, W = 6;
    const float scale = 1.0f / std::sqrt(float(hd));
    KvHandle kv("streaming", kv_config(64), {{"sinks", "2"}, {"window", "6"}});
    const uint64_t n_slots = kv.slot_count();
    std::vector<float> k_cache(n_slots * row), v_cache(n_slots * row);
    std::vector<std::vector<float>> k_all, v_all; // post-RoPE K and V of every token ever appended
    std::mt19937 rng(99);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    auto randv = [&](size_t n) {
        std::vector<float> v(n);
        for (auto& x : v) x = nd(rng);
        return v;
    };

    uint64_t total = 0;
    int checked = 0;
    while (total < 40) {
        const uint32_t n = (total == 10 || total == 25) ? 3 : 1;
        std::vector<int32_t> pos;
        for (uint32_t j = 0; j < n; ++j) pos.push_back(int32_t(total + j));
        std::vector<float> q = randv(size_t(n) * heads * hd), k = randv(size_t(n) * row), v = randv(size_t(n) * row);
        ref::rope(q.data(), hd, heads, n, pos.data(), APH_ROPE_NEOX, hd, 10000.0f, 1.0f);
        ref::rope(k.data(), hd, kv_heads, n, pos.data(), APH_ROPE_NEOX, hd, 10000.0f, 1.0f);
        for (uint32_t j = 0; j < n; ++j) {
            k_all.emplace_back(k.begin() + j * row, k.begin() + (j + 1) * row);
            v_all.emplace_back(v.begin() + j * row, v.begin() + (j + 1) * row);
        }

        // The manager's path: append, store at the slots, attend through the block table.
        auto slots = kv.append_ok(0, n);
        ref::kv_store(k.data(), row, n, slots.data(), APH_DTYPE_F32, k_cache.data());
        ref::kv_store(v.data(), row, n, slots.data(), APH_DTYPE_F32, v_cache.data());
        total += n;
        auto t = kv.table(0);
        std::vector<float> kg(size_t(t.n_kv) * row), vg(size_t(t.n_kv) * row);
        ref::gather_kv_rows(APH_DTYPE_F32, k_cache.data(), row, t.blocks.data(), t.block_size, t.n_kv, kg.data());
        ref::gather_kv_rows(APH_DTYPE_F32, v_cache.data(), row, t.blocks.data(), t.block_size, t.n_kv, vg.data());
        std::vector<float> out(q.size());
        ref::attention(q.data(), kg.data(), vg.data(), hd, heads, kv_heads, n, t.n_kv, scale, out.data());

        // The reference: the kept tokens (sinks, then the last W) in order, from the independent list.
        auto keep = kept_tokens(total, S, W);
        REQUIRE(keep.size() == t.n_kv);
        std::vector<float> kr, vr;
        for (uint64_t i : keep) {
            kr.insert(kr.end(), k_all[i].begin(), k_all[i].end());
            vr.insert(vr.end(), v_all[i].begin(), v_all[i].end());
        }
        std::vector<float> want(q.size());
        ref::attention(q.data(), kr.data(), vr.data(), hd, heads, kv_heads, n, int64_t(keep.size()), scale,
                       want.data());
        INFO("after " << total << " tokens");
        REQUIRE(out == want);
        ++checked;

        // Before the first eviction this is also plain full causal attention over every token so far.
        if (total <= S + W) {
            std::vector<float> kf, vf;
            for (uint64_t i = 0; i < total; ++i) {
                kf.insert(kf.end(), k_all[i].begin(), k_all[i].end());
                vf.insert(vf.end(), v_all[i].begin(), v_all[i].end());
            }
            std::vector<float> full(q.size());
            ref::attention(q.data(), kf.data(), vf.data(), hd, heads, kv_heads, n, int64_t(total), scale,
                           full.data());
            REQUIRE(out == full);
        }
    }
    CHECK(checked > 30);
    CHECK(kv.stats().evictions == total - S - W);
}
