// The contiguous KV-cache manager through its C vtable, loaded from the build's plugin directory.
#include <aprhost/abi.h>

#include <catch2/catch.hpp>
#include <dlfcn.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

// dlopen'ed plugin + its KV vtable; the library stays loaded for the whole test binary.
const aph_kv_vtable* kv_vtable() {
    static const aph_kv_vtable* vt = [] {
        std::string path = std::string(APRHOST_PLUGIN_DIR) + "/libaprhost-kv-contiguous.so";
        void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        INFO("dlopen " << path << ": " << (lib ? "" : dlerror()));
        REQUIRE(lib != nullptr);
        auto entry = reinterpret_cast<aph_plugin_entry_fn>(dlsym(lib, APH_ENTRY_SYMBOL));
        REQUIRE(entry != nullptr);
        const aph_plugin_desc* d = entry();
        REQUIRE(d != nullptr);
        REQUIRE(d->abi_major == APH_ABI_MAJOR);
        REQUIRE(d->kind == APH_PLUGIN_KV_CACHE);
        REQUIRE(std::string(d->name) == "contiguous");
        return static_cast<const aph_kv_vtable*>(d->vtable);
    }();
    return vt;
}

aph_kv_config make_config(uint32_t capacity, uint32_t max_sequences) {
    aph_kv_config c{};
    c.struct_size = sizeof(aph_kv_config);
    c.n_layers = 2;
    c.n_kv_heads = 2;
    c.head_dim = 64;
    c.dtype = APH_DTYPE_F16;
    c.capacity = capacity;
    c.block_size = 0;
    c.max_sequences = max_sequences;
    return c;
}

// One manager instance, destroyed at scope exit.
struct Kv {
    const aph_kv_vtable* vt = kv_vtable();
    void* self = nullptr;
    aph_error err{};

    Kv(uint32_t capacity, uint32_t max_sequences) {
        aph_kv_config c = make_config(capacity, max_sequences);
        aph_status st = vt->create(nullptr, &c, nullptr, 0, &self, &err);
        INFO(err.message);
        REQUIRE(st == APH_OK);
        REQUIRE(self != nullptr);
    }
    ~Kv() { vt->destroy(self); }
    Kv(const Kv&) = delete;
    Kv& operator=(const Kv&) = delete;

    aph_status append(uint32_t seq, uint32_t n, std::vector<int32_t>& slots) {
        slots.assign(n, -1);
        return vt->seq_append(self, seq, n, slots.data(), &err);
    }
    std::vector<int32_t> append_ok(uint32_t seq, uint32_t n) {
        std::vector<int32_t> slots;
        aph_status st = append(seq, n, slots);
        INFO(err.message);
        REQUIRE(st == APH_OK);
        return slots;
    }
    struct Table {
        std::vector<int32_t> blocks;
        uint32_t n_blocks = 0, block_size = 0, n_kv = 0;
    };
    Table table(uint32_t seq) {
        Table t;
        t.blocks.assign(4, -7);
        aph_status st = vt->seq_block_table(self, seq, t.blocks.data(), 4, &t.n_blocks, &t.block_size, &t.n_kv,
                                            &err);
        REQUIRE(st == APH_OK);
        t.blocks.resize(t.n_blocks);
        return t;
    }
    aph_kv_stats stats() {
        aph_kv_stats s{};
        REQUIRE(vt->stats != nullptr);
        vt->stats(self, &s);
        return s;
    }
};

// Slot of kv entry i as APH_OP_ATTENTION computes it from a block table.
int32_t slot_from_table(const Kv::Table& t, uint32_t i) {
    return t.blocks[i / t.block_size] * static_cast<int32_t>(t.block_size) + static_cast<int32_t>(i % t.block_size);
}

}  // namespace

TEST_CASE("contiguous: vtable shape", "[kv][contiguous]") {
    const aph_kv_vtable* vt = kv_vtable();
    CHECK(vt->struct_size == sizeof(aph_kv_vtable));
    CHECK(vt->create != nullptr);
    CHECK(vt->destroy != nullptr);
    CHECK(vt->slot_count != nullptr);
    CHECK(vt->seq_append != nullptr);
    CHECK(vt->seq_block_table != nullptr);
    CHECK(vt->seq_free != nullptr);
    CHECK(vt->seq_truncate != nullptr);
    CHECK(vt->stats != nullptr);
    CHECK(vt->seq_fork == nullptr); // forking needs sharing, which one region per sequence cannot give
}

TEST_CASE("contiguous: append hands out consecutive slots and a one-block table", "[kv][contiguous]") {
    Kv kv(64, 0); // max_sequences 0 means one sequence
    CHECK(kv.vt->slot_count(kv.self) == 64);

    auto first = kv.append_ok(0, 5);
    CHECK(first == std::vector<int32_t>{0, 1, 2, 3, 4});
    auto second = kv.append_ok(0, 1);
    CHECK(second == std::vector<int32_t>{5});

    auto t = kv.table(0);
    CHECK(t.n_kv == 6);
    CHECK(t.n_blocks == 1);
    CHECK(t.block_size == 64);
    REQUIRE(t.blocks.size() == 1);
    CHECK(t.blocks[0] == 0);
    for (uint32_t i = 0; i < 6; ++i) CHECK(slot_from_table(t, i) == static_cast<int32_t>(i));
}

TEST_CASE("contiguous: a full region is a clear EXHAUSTED error and changes nothing", "[kv][contiguous]") {
    Kv kv(8, 1);
    kv.append_ok(0, 6);

    std::vector<int32_t> slots;
    aph_status st = kv.append(0, 3, slots);
    CHECK(st == APH_STATUS_EXHAUSTED);
    std::string msg = kv.err.message;
    CHECK(msg.find("KV cache exhausted") != std::string::npos);
    CHECK(msg.find("sequence 0 holds 6 of 8 tokens") != std::string::npos);
    CHECK(msg.find("capacity 8") != std::string::npos);
    CHECK(msg.find("--ctx") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(slots == std::vector<int32_t>(3, -1)); // nothing written

    CHECK(kv.table(0).n_kv == 6);
    CHECK(kv.stats().slots_used == 6);

    // What still fits, fits exactly.
    CHECK(kv.append_ok(0, 2) == std::vector<int32_t>{6, 7});
    CHECK(kv.append(0, 1, slots) == APH_STATUS_EXHAUSTED);
    CHECK(std::string(kv.err.message).find("holds 8 of 8 tokens") != std::string::npos);
}

TEST_CASE("contiguous: truncate rolls back and the next append reuses the slots", "[kv][contiguous]") {
    Kv kv(16, 1);
    kv.append_ok(3, 10);
    REQUIRE(kv.vt->seq_truncate(kv.self, 3, 7, &kv.err) == APH_OK);
    CHECK(kv.table(3).n_kv == 7);
    CHECK(kv.append_ok(3, 2) == std::vector<int32_t>{7, 8});

    // Growing by truncation is a caller bug, reported, not ignored.
    CHECK(kv.vt->seq_truncate(kv.self, 3, 20, &kv.err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(kv.err.message).find("holds 9") != std::string::npos);
    CHECK(kv.table(3).n_kv == 9);

    REQUIRE(kv.vt->seq_truncate(kv.self, 3, 0, &kv.err) == APH_OK);
    auto t = kv.table(3);
    CHECK(t.n_kv == 0);
    CHECK(t.n_blocks == 0);
    CHECK(kv.append_ok(3, 1) == std::vector<int32_t>{0});
}

TEST_CASE("contiguous: free releases the region for another sequence", "[kv][contiguous]") {
    Kv kv(8, 1);
    kv.append_ok(1, 8);
    std::vector<int32_t> slots;
    CHECK(kv.append(2, 1, slots) == APH_STATUS_EXHAUSTED); // the only region belongs to sequence 1
    CHECK(std::string(kv.err.message).find("sequence regions are in use") != std::string::npos);

    kv.vt->seq_free(kv.self, 1);
    kv.vt->seq_free(kv.self, 99); // unknown: no-op
    CHECK(kv.table(1).n_kv == 0);
    CHECK(kv.stats().slots_used == 0);
    CHECK(kv.append_ok(2, 3) == std::vector<int32_t>{0, 1, 2});
}

TEST_CASE("contiguous: several sequences get disjoint regions", "[kv][contiguous]") {
    Kv kv(30, 3); // three regions of 10
    CHECK(kv.vt->slot_count(kv.self) == 30);

    kv.append_ok(7, 4);
    kv.append_ok(5, 2);
    kv.append_ok(9, 10);
    kv.append_ok(7, 1);

    auto t7 = kv.table(7), t5 = kv.table(5), t9 = kv.table(9);
    CHECK(t7.block_size == 10);
    CHECK(t7.n_kv == 5);
    CHECK(t5.n_kv == 2);
    CHECK(t9.n_kv == 10);
    // Regions are handed out in order of first use.
    CHECK(t7.blocks == std::vector<int32_t>{0});
    CHECK(t5.blocks == std::vector<int32_t>{1});
    CHECK(t9.blocks == std::vector<int32_t>{2});

    std::vector<bool> seen(30, false);
    for (const auto* t : {&t7, &t5, &t9}) {
        for (uint32_t i = 0; i < t->n_kv; ++i) {
            int32_t s = slot_from_table(*t, i);
            REQUIRE(s >= 0);
            REQUIRE(s < 30);
            CHECK_FALSE(seen[static_cast<size_t>(s)]);
            seen[static_cast<size_t>(s)] = true;
        }
    }

    std::vector<int32_t> slots;
    CHECK(kv.append(9, 1, slots) == APH_STATUS_EXHAUSTED); // region of 9 is full even though others are not
    CHECK(std::string(kv.err.message).find("sequence 9 holds 10 of 10 tokens") != std::string::npos);
    CHECK(kv.append(11, 1, slots) == APH_STATUS_EXHAUSTED); // no fourth region

    aph_kv_stats s = kv.stats();
    CHECK(s.struct_size == sizeof(aph_kv_stats));
    CHECK(s.slots_total == 30);
    CHECK(s.slots_used == 17);
    CHECK(s.blocks_total == 3);
    CHECK(s.blocks_used == 3);
    CHECK(s.evictions == 0);

    kv.vt->seq_free(kv.self, 5);
    CHECK(kv.append_ok(11, 2) == std::vector<int32_t>{10, 11}); // takes the freed middle region
    CHECK(kv.table(7).n_kv == 5);                              // the others are untouched
}

TEST_CASE("contiguous: block table reports the needed size when the caller's table is too small",
          "[kv][contiguous]") {
    Kv kv(8, 2);
    kv.append_ok(0, 1);
    kv.append_ok(1, 3);
    uint32_t nb = 0, bs = 0, nkv = 0;
    REQUIRE(kv.vt->seq_block_table(kv.self, 1, nullptr, 0, &nb, &bs, &nkv, &kv.err) == APH_OK);
    CHECK(nb == 1);
    CHECK(bs == 4);
    CHECK(nkv == 3);
}

TEST_CASE("contiguous: invalid configurations are refused with a reason", "[kv][contiguous]") {
    const aph_kv_vtable* vt = kv_vtable();
    aph_error err{};
    void* self = nullptr;

    aph_kv_config zero = make_config(0, 1);
    CHECK(vt->create(nullptr, &zero, nullptr, 0, &self, &err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("capacity is 0") != std::string::npos);

    aph_kv_config too_many = make_config(4, 8);
    CHECK(vt->create(nullptr, &too_many, nullptr, 0, &self, &err) == APH_STATUS_INVALID_ARGUMENT);

    aph_kv_config ok = make_config(4, 1);
    aph_option opt{"block_size", "16"};
    CHECK(vt->create(nullptr, &ok, &opt, 1, &self, &err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("unknown option 'block_size'") != std::string::npos);

    aph_kv_config old = make_config(4, 1);
    old.struct_size = 8;
    CHECK(vt->create(nullptr, &old, nullptr, 0, &self, &err) == APH_STATUS_INVALID_ARGUMENT);
}

TEST_CASE("contiguous: a capacity not divisible by max_sequences drops the remainder", "[kv][contiguous]") {
    Kv kv(10, 3);
    CHECK(kv.vt->slot_count(kv.self) == 9);
    kv.append_ok(0, 1);
    CHECK(kv.table(0).block_size == 3);
}
