// A KV-cache manager plugin driven through its C vtable, loaded the way the host loads it (dlopen of
// APRHOST_PLUGIN_DIR/libaprhost-kv-<name>.so + aprhost_plugin_entry), with small helpers for tests.
#pragma once

#include <aprhost/abi.h>

#include <catch2/catch.hpp>
#include <dlfcn.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace aprhost::test {

// The plugin's descriptor; the library stays loaded for the whole test binary.
inline const aph_plugin_desc* kv_plugin_desc(const std::string& name) {
    static std::map<std::string, const aph_plugin_desc*> cache;
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
    std::string path = std::string(APRHOST_PLUGIN_DIR) + "/libaprhost-kv-" + name + ".so";
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    INFO("dlopen " << path << ": " << (lib ? "" : dlerror()));
    REQUIRE(lib != nullptr);
    auto entry = reinterpret_cast<aph_plugin_entry_fn>(dlsym(lib, APH_ENTRY_SYMBOL));
    REQUIRE(entry != nullptr);
    const aph_plugin_desc* d = entry();
    REQUIRE(d != nullptr);
    REQUIRE(d->abi_major == APH_ABI_MAJOR);
    REQUIRE(d->kind == APH_PLUGIN_KV_CACHE);
    REQUIRE(std::string(d->name) == name);
    cache[name] = d;
    return d;
}

inline const aph_kv_vtable* kv_plugin_vtable(const std::string& name) {
    return static_cast<const aph_kv_vtable*>(kv_plugin_desc(name)->vtable);
}

inline aph_kv_config kv_config(uint32_t capacity, uint32_t max_sequences = 1, uint32_t block_size = 0) {
    aph_kv_config c{};
    c.struct_size = sizeof(aph_kv_config);
    c.n_layers = 2;
    c.n_kv_heads = 2;
    c.head_dim = 64;
    c.dtype = APH_DTYPE_F16;
    c.capacity = capacity;
    c.block_size = block_size;
    c.max_sequences = max_sequences;
    return c;
}

using KvOptions = std::vector<std::pair<std::string, std::string>>;

// Tries to create a manager; returns the status and leaves the message in err. Destroys it again on success.
inline aph_status kv_try_create(const std::string& name, const aph_kv_config& cfg, const KvOptions& options,
                                aph_error& err) {
    const aph_kv_vtable* vt = kv_plugin_vtable(name);
    std::vector<aph_option> opts;
    for (auto& [k, v] : options) opts.push_back({k.c_str(), v.c_str()});
    void* self = nullptr;
    err = aph_error{};
    aph_status st = vt->create(nullptr, &cfg, opts.data(), opts.size(), &self, &err);
    if (st == APH_OK) vt->destroy(self);
    return st;
}

// One manager instance, destroyed at scope exit.
class KvHandle {
public:
    struct Table {
        std::vector<int32_t> blocks;
        uint32_t block_size = 0, n_kv = 0;
        // Slot of entry i, computed as APH_OP_ATTENTION does.
        int32_t slot(uint32_t i) const {
            return blocks[i / block_size] * static_cast<int32_t>(block_size) + static_cast<int32_t>(i % block_size);
        }
        std::vector<int32_t> slots() const {
            std::vector<int32_t> s;
            for (uint32_t i = 0; i < n_kv; ++i) s.push_back(slot(i));
            return s;
        }
    };

    KvHandle(const std::string& name, const aph_kv_config& cfg, const KvOptions& options = {})
        : vt(kv_plugin_vtable(name)) {
        std::vector<aph_option> opts;
        for (auto& [k, v] : options) opts.push_back({k.c_str(), v.c_str()});
        aph_status st = vt->create(nullptr, &cfg, opts.data(), opts.size(), &self, &err);
        INFO(err.message);
        REQUIRE(st == APH_OK);
        REQUIRE(self != nullptr);
    }
    ~KvHandle() { vt->destroy(self); }
    KvHandle(const KvHandle&) = delete;
    KvHandle& operator=(const KvHandle&) = delete;

    uint64_t slot_count() const { return vt->slot_count(self); }

    aph_status append(uint32_t seq, uint32_t n, std::vector<int32_t>& slots) {
        slots.assign(n, -1);
        err = aph_error{};
        return vt->seq_append(self, seq, n, slots.data(), &err);
    }
    std::vector<int32_t> append_ok(uint32_t seq, uint32_t n) {
        std::vector<int32_t> slots;
        aph_status st = append(seq, n, slots);
        INFO("append " << n << " to seq " << seq << ": " << err.message);
        REQUIRE(st == APH_OK);
        return slots;
    }
    // The whole table: asks for the size first (cap 0), then fetches exactly that many entries.
    Table table(uint32_t seq) {
        Table t;
        uint32_t nb = 0;
        REQUIRE(vt->seq_block_table(self, seq, nullptr, 0, &nb, &t.block_size, &t.n_kv, &err) == APH_OK);
        t.blocks.assign(nb + 1, -7); // one sentinel past the end
        uint32_t nb2 = 0;
        REQUIRE(vt->seq_block_table(self, seq, t.blocks.data(), nb, &nb2, &t.block_size, &t.n_kv, &err) == APH_OK);
        REQUIRE(nb2 == nb);
        REQUIRE(t.blocks[nb] == -7);
        t.blocks.resize(nb);
        return t;
    }
    aph_status fork(uint32_t src, uint32_t dst) {
        REQUIRE(vt->seq_fork != nullptr);
        err = aph_error{};
        return vt->seq_fork(self, src, dst, &err);
    }
    aph_status truncate(uint32_t seq, uint32_t n) {
        REQUIRE(vt->seq_truncate != nullptr);
        err = aph_error{};
        return vt->seq_truncate(self, seq, n, &err);
    }
    void free(uint32_t seq) { vt->seq_free(self, seq); }
    aph_kv_stats stats() {
        aph_kv_stats s{};
        REQUIRE(vt->stats != nullptr);
        vt->stats(self, &s);
        return s;
    }
    std::string message() const { return err.message; }

    const aph_kv_vtable* vt;
    void* self = nullptr;
    aph_error err{};
};

}  // namespace aprhost::test
