// The paged KV-cache manager through its C vtable: blocks, free list, exhaustion, fork with prefix sharing,
// truncate, stats, several sequences, and a randomized run against a shadow of the cache contents.
#include "kv_plugin_handle.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using aprhost::test::kv_config;
using aprhost::test::KvHandle;

namespace {
std::vector<int32_t> iota_slots(int32_t first, int32_t n) {
    std::vector<int32_t> v;
    for (int32_t i = 0; i < n; ++i) v.push_back(first + i);
    return v;
}
}  // namespace

TEST_CASE("paged: vtable shape", "[kv][paged]") {
    const aph_kv_vtable* vt = aprhost::test::kv_plugin_vtable("paged");
    CHECK(vt->struct_size == sizeof(aph_kv_vtable));
    CHECK(vt->create != nullptr);
    CHECK(vt->destroy != nullptr);
    CHECK(vt->slot_count != nullptr);
    CHECK(vt->seq_append != nullptr);
    CHECK(vt->seq_block_table != nullptr);
    CHECK(vt->seq_fork != nullptr);
    CHECK(vt->seq_truncate != nullptr);
    CHECK(vt->seq_free != nullptr);
    CHECK(vt->stats != nullptr);
}

TEST_CASE("paged: block size from the default, the config and the option", "[kv][paged]") {
    {
        KvHandle kv("paged", kv_config(100)); // default 16: ceil(100 / 16) = 7 blocks
        CHECK(kv.slot_count() == 112);
        kv.append_ok(0, 1);
        CHECK(kv.table(0).block_size == 16);
        CHECK(kv.stats().blocks_total == 7);
    }
    {
        KvHandle kv("paged", kv_config(100, 1, 8));
        CHECK(kv.slot_count() == 104);
        kv.append_ok(0, 1);
        CHECK(kv.table(0).block_size == 8);
    }
    {
        KvHandle kv("paged", kv_config(100, 1, 8), {{"block_size", "32"}}); // the option wins
        CHECK(kv.slot_count() == 128);
        kv.append_ok(0, 1);
        CHECK(kv.table(0).block_size == 32);
    }
}

TEST_CASE("paged: invalid configurations are refused with a reason", "[kv][paged]") {
    aph_error err{};
    using aprhost::test::kv_try_create;
    CHECK(kv_try_create("paged", kv_config(0), {}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("capacity is 0") != std::string::npos);
    CHECK(kv_try_create("paged", kv_config(64), {{"block_size", "0"}}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("block_size 0") != std::string::npos);
    CHECK(kv_try_create("paged", kv_config(64), {{"block_size", "x"}}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("not an integer") != std::string::npos);
    CHECK(kv_try_create("paged", kv_config(64), {{"window", "8"}}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("unknown option 'window'") != std::string::npos);
    CHECK(kv_try_create("paged", kv_config(64), {{"alloc_order", "random"}}, err) == APH_STATUS_INVALID_ARGUMENT);
    aph_kv_config old = kv_config(64);
    old.struct_size = 8;
    CHECK(kv_try_create("paged", old, {}, err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(kv_try_create("paged", kv_config(0x7fffffffu), {{"block_size", "65536"}}, err) ==
          APH_STATUS_INVALID_ARGUMENT); // 32768 blocks of 65536 slots overflow int32 slot ids
}

TEST_CASE("paged: appends fill a block before taking the next; the table lists exactly the blocks",
          "[kv][paged]") {
    KvHandle kv("paged", kv_config(64, 1, 4));
    CHECK(kv.append_ok(0, 3) == iota_slots(0, 3));
    auto t = kv.table(0);
    CHECK(t.blocks == std::vector<int32_t>{0});
    CHECK(t.n_kv == 3);
    CHECK(kv.append_ok(0, 1) == std::vector<int32_t>{3}); // fills block 0 exactly
    CHECK(kv.table(0).blocks == std::vector<int32_t>{0});
    CHECK(kv.append_ok(0, 6) == iota_slots(4, 6));       // blocks 1 and 2
    t = kv.table(0);
    CHECK(t.blocks == std::vector<int32_t>{0, 1, 2});
    CHECK(t.n_kv == 10);
    CHECK(t.slots() == iota_slots(0, 10));
    CHECK(kv.append_ok(0, 0).empty()); // zero tokens: nothing happens
    CHECK(kv.table(0).n_kv == 10);

    // An unknown sequence has an empty table.
    auto none = kv.table(42);
    CHECK(none.blocks.empty());
    CHECK(none.n_kv == 0);
}

TEST_CASE("paged: interleaved sequences get interleaved blocks and freed blocks are reused", "[kv][paged]") {
    KvHandle kv("paged", kv_config(32, 4, 4)); // 8 blocks
    kv.append_ok(1, 4);                         // block 0
    kv.append_ok(2, 4);                         // block 1
    kv.append_ok(1, 4);                         // block 2
    kv.append_ok(2, 5);                         // blocks 3, 4
    CHECK(kv.table(1).blocks == std::vector<int32_t>{0, 2});
    CHECK(kv.table(2).blocks == std::vector<int32_t>{1, 3, 4});
    CHECK(kv.table(1).slots() == std::vector<int32_t>{0, 1, 2, 3, 8, 9, 10, 11});

    auto s = kv.stats();
    CHECK(s.blocks_used == 5);
    CHECK(s.slots_used == 17);

    kv.free(2);
    kv.free(77); // unknown: no-op
    CHECK(kv.table(2).n_kv == 0);
    CHECK(kv.stats().blocks_used == 2);
    // The freed blocks come back in their old order, before the never-used ones.
    kv.append_ok(3, 12);
    CHECK(kv.table(3).blocks == std::vector<int32_t>{1, 3, 4});
    kv.append_ok(3, 1);
    CHECK(kv.table(3).blocks == std::vector<int32_t>{1, 3, 4, 5});
}

TEST_CASE("paged: descending allocation order hands out blocks from the top", "[kv][paged]") {
    KvHandle kv("paged", kv_config(16, 1, 4), {{"alloc_order", "descending"}});
    CHECK(kv.append_ok(0, 6) == std::vector<int32_t>{12, 13, 14, 15, 8, 9});
    CHECK(kv.table(0).blocks == std::vector<int32_t>{3, 2});
}

TEST_CASE("paged: out of blocks is a clear EXHAUSTED error and changes nothing", "[kv][paged]") {
    KvHandle kv("paged", kv_config(64, 2, 16)); // 4 blocks of 16
    kv.append_ok(0, 50);                        // 4 blocks, 14 slots left in the last one
    const auto table_before = kv.table(0);
    const auto stats_before = kv.stats();

    std::vector<int32_t> slots;
    CHECK(kv.append(0, 15, slots) == APH_STATUS_EXHAUSTED);
    const std::string msg = kv.message();
    CHECK(msg.rfind("KV cache exhausted (4 blocks of 16 tokens)", 0) == 0);
    CHECK(msg.find("sequence 0 needs 1 more blocks for 15 tokens") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(slots == std::vector<int32_t>(15, -1)); // nothing written

    // A new sequence cannot start either.
    CHECK(kv.append(1, 1, slots) == APH_STATUS_EXHAUSTED);
    CHECK(std::string(kv.message()).rfind("KV cache exhausted (4 blocks of 16 tokens)", 0) == 0);
    CHECK(kv.table(1).n_kv == 0);

    auto t = kv.table(0);
    CHECK(t.blocks == table_before.blocks);
    CHECK(t.n_kv == 50);
    auto s = kv.stats();
    CHECK(s.blocks_used == stats_before.blocks_used);
    CHECK(s.slots_used == stats_before.slots_used);

    // What still fits, fits exactly.
    CHECK(kv.append_ok(0, 14) == iota_slots(50, 14));
    CHECK(kv.append(0, 1, slots) == APH_STATUS_EXHAUSTED);
    CHECK(kv.stats().slots_used == 64);
}

TEST_CASE("paged: fork shares the full blocks; appends never write into shared blocks", "[kv][paged]") {
    KvHandle kv("paged", kv_config(64, 4, 4)); // 16 blocks of 4
    kv.append_ok(0, 10);                        // blocks 0, 1, 2 (2 of 4 used)
    REQUIRE(kv.fork(0, 1) == APH_OK);

    // The child gets the whole-block prefix: 8 entries in the parent's blocks 0 and 1, nothing new allocated.
    auto child = kv.table(1);
    CHECK(child.blocks == std::vector<int32_t>{0, 1});
    CHECK(child.n_kv == 8);
    CHECK(kv.stats().blocks_used == 3);
    CHECK(kv.stats().slots_used == 10);

    // The host re-feeds tokens 8, 9 to the child: they go into a fresh block, not the parent's partial block 2.
    CHECK(kv.append_ok(1, 2) == std::vector<int32_t>{12, 13});
    CHECK(kv.table(1).blocks == std::vector<int32_t>{0, 1, 3});
    // The parent keeps appending into its own block 2, then a new one.
    CHECK(kv.append_ok(0, 3) == std::vector<int32_t>{10, 11, 16});
    CHECK(kv.table(0).blocks == std::vector<int32_t>{0, 1, 2, 4});

    // Reference counts: freeing the parent keeps the shared blocks alive for the child.
    kv.free(0);
    CHECK(kv.stats().blocks_used == 3); // 0, 1 (child) and 3
    CHECK(kv.table(1).slots() == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 12, 13});
    kv.free(1);
    CHECK(kv.stats().blocks_used == 0);
    CHECK(kv.stats().slots_used == 0);
}

TEST_CASE("paged: fork of a block-aligned sequence shares everything; forks chain", "[kv][paged]") {
    KvHandle kv("paged", kv_config(64, 4, 4));
    kv.append_ok(5, 8);
    REQUIRE(kv.fork(5, 6) == APH_OK);
    REQUIRE(kv.fork(6, 7) == APH_OK);
    CHECK(kv.table(7).blocks == std::vector<int32_t>{0, 1});
    CHECK(kv.table(7).n_kv == 8);
    CHECK(kv.stats().blocks_used == 2);
    // Each of the three appends into its own new block.
    CHECK(kv.append_ok(5, 1) == std::vector<int32_t>{8});
    CHECK(kv.append_ok(6, 1) == std::vector<int32_t>{12});
    CHECK(kv.append_ok(7, 1) == std::vector<int32_t>{16});
    CHECK(kv.stats().blocks_used == 5);
    kv.free(5);
    kv.free(6);
    CHECK(kv.stats().blocks_used == 3); // 0, 1 still referenced by 7, plus 7's own block
}

TEST_CASE("paged: fork errors and edge cases", "[kv][paged]") {
    KvHandle kv("paged", kv_config(64, 4, 4));
    kv.append_ok(0, 5);
    kv.append_ok(1, 1);
    CHECK(kv.fork(0, 0) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(kv.fork(0, 1) == APH_STATUS_INVALID_ARGUMENT); // dst holds tokens
    CHECK(std::string(kv.message()).find("free it first") != std::string::npos);
    CHECK(kv.table(1).n_kv == 1);

    REQUIRE(kv.fork(9, 2) == APH_OK); // unknown source: the child is simply empty
    CHECK(kv.table(2).n_kv == 0);
    kv.append_ok(3, 3);
    REQUIRE(kv.fork(3, 4) == APH_OK); // less than one block: nothing to share
    CHECK(kv.table(4).n_kv == 0);
    CHECK(kv.stats().blocks_used == 4); // 2 for sequence 0, 1 each for 1 and 3; the empty forks hold none
}

TEST_CASE("paged: truncate frees blocks, respects references and refuses to expose a shared tail",
          "[kv][paged]") {
    KvHandle kv("paged", kv_config(64, 4, 4));
    kv.append_ok(0, 14); // blocks 0..3
    REQUIRE(kv.truncate(0, 9) == APH_OK);
    CHECK(kv.table(0).blocks == std::vector<int32_t>{0, 1, 2});
    CHECK(kv.table(0).n_kv == 9);
    CHECK(kv.stats().blocks_used == 3);
    CHECK(kv.append_ok(0, 4) == std::vector<int32_t>{9, 10, 11, 12}); // block 3 comes back

    CHECK(kv.truncate(0, 20) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(kv.message()).find("holds 13") != std::string::npos);

    REQUIRE(kv.fork(0, 1) == APH_OK); // shares blocks 0, 1, 2 (12 entries)
    // Inside a shared block: refused, nothing changes.
    CHECK(kv.truncate(0, 6) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(kv.message()).find("is shared with 1 other sequence") != std::string::npos);
    CHECK(kv.table(0).n_kv == 13);
    CHECK(kv.truncate(1, 10) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(kv.table(1).n_kv == 12);
    // To a block boundary: fine; the dropped shared block stays alive for the other sequence.
    REQUIRE(kv.truncate(0, 4) == APH_OK);
    CHECK(kv.table(0).blocks == std::vector<int32_t>{0});
    CHECK(kv.table(1).blocks == std::vector<int32_t>{0, 1, 2});
    CHECK(kv.stats().blocks_used == 3); // block 3 (only the parent's) was freed
    CHECK(kv.append_ok(0, 1) == std::vector<int32_t>{12}); // new block 3, not the shared block 1

    // Truncating an unshared partial tail is fine again, and to 0 empties the sequence.
    REQUIRE(kv.truncate(0, 4) == APH_OK);
    REQUIRE(kv.truncate(1, 0) == APH_OK);
    CHECK(kv.table(1).n_kv == 0);
    CHECK(kv.table(1).blocks.empty());
    CHECK(kv.stats().blocks_used == 1);
    REQUIRE(kv.truncate(0, 0) == APH_OK);
    CHECK(kv.stats().blocks_used == 0);
    CHECK(kv.truncate(8, 0) == APH_OK); // unknown sequence, nothing to drop
}

// Random appends, forks, truncates and frees over several sequences. A shadow of the cache contents records
// which value each slot holds; reading every sequence through its block table must give back exactly what that
// sequence (or the ancestor it shares a prefix with) wrote, so no operation may overwrite shared or foreign data.
TEST_CASE("paged: randomized operations keep every sequence's contents intact", "[kv][paged]") {
    const uint32_t bs = GENERATE(1u, 3u, 16u);
    KvHandle kv("paged", kv_config(48, 8, bs));
    const uint64_t n_slots = kv.slot_count();
    const uint64_t n_blocks = kv.stats().blocks_total;
    std::vector<uint64_t> cache(n_slots, 0);
    std::map<uint32_t, std::vector<uint64_t>> expect;
    std::mt19937 rng(1234 + bs);
    uint64_t next_value = 1;
    int exhausted = 0, forks = 0, truncs = 0, refused = 0;

    for (int step = 0; step < 3000; ++step) {
        const uint32_t seq = rng() % 6;
        const uint32_t op = rng() % 10;
        if (op < 5) {
            const uint32_t n = 1 + rng() % (2 * bs + 3);
            std::vector<int32_t> slots;
            aph_status st = kv.append(seq, n, slots);
            if (st == APH_STATUS_EXHAUSTED) {
                ++exhausted;
                REQUIRE(slots == std::vector<int32_t>(n, -1));
            } else {
                REQUIRE(st == APH_OK);
                for (int32_t s : slots) {
                    REQUIRE(s >= 0);
                    REQUIRE(uint64_t(s) < n_slots);
                    cache[size_t(s)] = next_value;
                    expect[seq].push_back(next_value++);
                }
            }
        } else if (op < 7) {
            const uint32_t dst = rng() % 6;
            if (dst == seq) continue;
            kv.free(dst);
            expect.erase(dst);
            REQUIRE(kv.fork(seq, dst) == APH_OK);
            ++forks;
            const uint32_t shared = kv.table(dst).n_kv;
            REQUIRE(shared == expect[seq].size() / bs * bs);
            expect[dst].assign(expect[seq].begin(), expect[seq].begin() + shared);
        } else if (op < 9) {
            const uint32_t len = uint32_t(expect[seq].size());
            const uint32_t n = len == 0 ? 0 : rng() % (len + 1);
            aph_status st = kv.truncate(seq, n);
            if (st == APH_OK) {
                ++truncs;
                expect[seq].resize(n);
            } else {
                REQUIRE(st == APH_STATUS_INVALID_ARGUMENT); // a shared tail
                ++refused;
            }
        } else {
            kv.free(seq);
            expect.erase(seq);
        }

        // Check every sequence and the block accounting.
        std::set<int32_t> used_blocks;
        for (auto& [s, values] : expect) {
            auto t = kv.table(s);
            REQUIRE(t.n_kv == values.size());
            REQUIRE(t.blocks.size() == (values.size() + bs - 1) / bs);
            for (uint32_t i = 0; i < t.n_kv; ++i) REQUIRE(cache[size_t(t.slot(i))] == values[i]);
            used_blocks.insert(t.blocks.begin(), t.blocks.end());
        }
        aph_kv_stats st = kv.stats();
        REQUIRE(st.blocks_used == used_blocks.size());
        REQUIRE(st.blocks_total == n_blocks);
    }
    INFO("exhausted " << exhausted << " forks " << forks << " truncates " << truncs << " refused " << refused);
    CHECK(exhausted > 0);
    CHECK(forks > 0);
    CHECK(truncs > 0);
    for (auto& [s, v] : expect) kv.free(s);
    CHECK(kv.stats().blocks_used == 0);
}
