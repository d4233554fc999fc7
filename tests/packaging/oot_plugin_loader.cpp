// Loads a plugin file the way the host does (dlopen + aprhost_plugin_entry), checks its descriptor against the
// expected kind and name, and drives its vtable once. Used by the out-of-tree packaging test:
//   oot_plugin_loader <plugin.so> <backend|format|kv> <name>
// Exit 0 = fine; otherwise one line on stderr saying what was wrong.
#include <aprhost/abi.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int fail(const std::string& msg) {
    std::fprintf(stderr, "oot_plugin_loader: FAIL: %s\n", msg.c_str());
    return 1;
}

uint32_t kind_from_string(const std::string& s) {
    if (s == "backend") return APH_PLUGIN_BACKEND;
    if (s == "format") return APH_PLUGIN_FORMAT;
    if (s == "kv") return APH_PLUGIN_KV_CACHE;
    return 0;
}

// Creates a manager, appends a few tokens, reads the block table and stats, frees, destroys.
int exercise_kv(const aph_kv_vtable* vt) {
    if (!vt || vt->struct_size < sizeof(aph_kv_vtable)) return fail("KV vtable missing or smaller than ABI 1.0's");
    if (!vt->create || !vt->destroy || !vt->slot_count || !vt->seq_append || !vt->seq_block_table || !vt->seq_free)
        return fail("a REQUIRED KV vtable slot is NULL");
    aph_kv_config cfg{};
    cfg.struct_size = sizeof(cfg);
    cfg.n_layers = 1;
    cfg.n_kv_heads = 1;
    cfg.head_dim = 8;
    cfg.dtype = APH_DTYPE_F32;
    cfg.capacity = 16;
    cfg.max_sequences = 1;
    aph_error err{};
    void* kv = nullptr;
    if (vt->create(nullptr, &cfg, nullptr, 0, &kv, &err) != APH_OK || !kv)
        return fail(std::string("create failed: ") + err.message);
    int rc = 0;
    int32_t slots[3] = {-1, -1, -1};
    if (vt->slot_count(kv) < 3) rc = fail("slot_count < 3 for capacity 16");
    if (!rc && vt->seq_append(kv, 0, 3, slots, &err) != APH_OK) rc = fail(std::string("seq_append: ") + err.message);
    int32_t table[4] = {};
    uint32_t n_blocks = 0, block_size = 0, n_kv = 0;
    if (!rc && vt->seq_block_table(kv, 0, table, 4, &n_blocks, &block_size, &n_kv, &err) != APH_OK)
        rc = fail(std::string("seq_block_table: ") + err.message);
    if (!rc && (n_kv != 3 || n_blocks == 0 || block_size == 0)) rc = fail("block table does not hold the 3 tokens");
    for (uint32_t i = 0; !rc && i < 3; ++i) {
        int32_t slot = table[i / block_size] * static_cast<int32_t>(block_size) + static_cast<int32_t>(i % block_size);
        if (slot != slots[i]) rc = fail("block table disagrees with the slots seq_append gave");
    }
    if (!rc && vt->stats) {
        aph_kv_stats st{};
        vt->stats(kv, &st);
        if (st.struct_size != sizeof(aph_kv_stats) || st.slots_used != 3) rc = fail("stats do not show 3 used slots");
    }
    vt->seq_free(kv, 0);
    vt->destroy(kv);
    if (!rc) std::printf("kv vtable: 3 tokens -> slots %d %d %d, block size %u\n", slots[0], slots[1], slots[2],
                         block_size);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: oot_plugin_loader <plugin.so> <backend|format|kv> <name>\n");
        return 2;
    }
    const std::string path = argv[1];
    const uint32_t want_kind = kind_from_string(argv[2]);
    const std::string want_name = argv[3];

    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) return fail(std::string("dlopen: ") + dlerror());
    auto entry = reinterpret_cast<aph_plugin_entry_fn>(dlsym(lib, APH_ENTRY_SYMBOL));
    if (!entry) return fail(path + " does not export " APH_ENTRY_SYMBOL);
    const aph_plugin_desc* d = entry();
    if (!d) return fail(APH_ENTRY_SYMBOL " returned NULL");
    if (d->abi_major != APH_ABI_MAJOR)
        return fail("abi_major " + std::to_string(d->abi_major) + ", host has " + std::to_string(APH_ABI_MAJOR));
    if (d->struct_size < sizeof(aph_plugin_desc)) return fail("descriptor smaller than ABI 1.0's");
    if (d->kind != want_kind) return fail("kind " + std::to_string(d->kind) + ", expected " + argv[2]);
    if (!d->name || want_name != d->name) return fail(std::string("name '") + (d->name ? d->name : "") + "'");
    std::printf("%s: abi %u.%u kind %s name %s version %s (%s)\n", path.c_str(), d->abi_major, d->abi_minor,
                argv[2], d->name, d->version ? d->version : "?", d->description ? d->description : "");

    if (auto score = reinterpret_cast<aph_plugin_score_fn>(dlsym(lib, APH_SCORE_SYMBOL))) {
        aph_error why{};
        uint32_t s = score(&why);
        std::printf("score %u (%s)\n", s, why.message);
        if (s == 0) return fail(std::string("plugin says it cannot run here: ") + why.message);
    }

    int rc = 0;
    if (want_kind == APH_PLUGIN_KV_CACHE) rc = exercise_kv(static_cast<const aph_kv_vtable*>(d->vtable));
    else if (!d->vtable) rc = fail("vtable is NULL");
    // The plugin stays loaded until exit: teardown order is instances, then the library.
    dlclose(lib);
    if (rc == 0) std::printf("oot_plugin_loader: OK\n");
    return rc;
}
