#include "gguf_test_support.h"


#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace gguf_test {

const aph_format_vtable& gguf_plugin() {
    static const aph_format_vtable* vt = [] {
        std::string path = std::string(APRHOST_PLUGIN_DIR) + "/libaprhost-format-gguf.so";
        // Never closed: the plugin stays loaded for the process, as the host keeps it while models are open.
        void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!lib) throw std::runtime_error(std::string("dlopen failed: ") + dlerror());
        auto entry = reinterpret_cast<aph_plugin_entry_fn>(dlsym(lib, APH_ENTRY_SYMBOL));
        if (!entry) throw std::runtime_error(path + " has no " APH_ENTRY_SYMBOL);
        const aph_plugin_desc* desc = entry();
        if (!desc || desc->abi_major != APH_ABI_MAJOR || desc->kind != APH_PLUGIN_FORMAT)
            throw std::runtime_error(path + ": not a format plugin of ABI major " + std::to_string(APH_ABI_MAJOR));
        return static_cast<const aph_format_vtable*>(desc->vtable);
    }();
    return *vt;
}

Opened::Opened(const std::string& path) {
    aph_error err{};
    // Poison the buffer so a callee that fails without writing a message is caught.
    err.message[0] = '\0';
    status = gguf_plugin().open(nullptr, path.c_str(), nullptr, 0, &model, &err);
    if (status != APH_OK) {
        model = nullptr;
        message = err.message;
    }
}

Opened::~Opened() {
    if (model) gguf_plugin().close(model);
}

std::string temp_path(const std::string& stem) {
    static std::atomic<int> counter{0};
    std::filesystem::path dir = std::filesystem::path(APRHOST_TEST_DATA_DIR) / "gguf";
    std::filesystem::create_directories(dir);
    return (dir / (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".gguf")).string();
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void put_u32(std::vector<uint8_t>& b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& b, uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_str(std::vector<uint8_t>& b, const std::string& s) {
    put_u64(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
}

std::vector<uint8_t> RawFile::bytes() const {
    std::vector<uint8_t> b(magic.begin(), magic.end());
    put_u32(b, version);
    put_u64(b, tensor_count_override.value_or(tensors.size()));
    put_u64(b, kv_count_override.value_or(kvs.size()));
    for (const auto& kv : kvs) {
        put_u64(b, kv.key_length_override.value_or(kv.key.size()));
        b.insert(b.end(), kv.key.begin(), kv.key.end());
        put_u32(b, kv.type);
        b.insert(b.end(), kv.payload.begin(), kv.payload.end());
    }
    for (const auto& t : tensors) {
        put_u64(b, t.name_length_override.value_or(t.name.size()));
        b.insert(b.end(), t.name.begin(), t.name.end());
        put_u32(b, t.n_dims_override.value_or(static_cast<uint32_t>(t.dims.size())));
        for (uint64_t d : t.dims) put_u64(b, d);
        put_u32(b, t.type);
        put_u64(b, t.offset);
    }
    while (b.size() % pad_to) b.push_back(0);
    for (uint64_t i = 0; i < data_bytes; ++i) b.push_back(static_cast<uint8_t>(i * 7 + 1));
    return b;
}

RawKv kv_u32(const std::string& key, uint32_t v) {
    RawKv kv{key, APH_VALUE_U32, {}, {}};
    put_u32(kv.payload, v);
    return kv;
}

RawKv kv_string(const std::string& key, const std::string& v) {
    RawKv kv{key, APH_VALUE_STRING, {}, {}};
    put_str(kv.payload, v);
    return kv;
}

RawFile valid_raw_file() {
    RawFile f;
    f.kvs.push_back(kv_string("general.architecture", "llama"));
    f.kvs.push_back(kv_u32("llama.block_count", 2));
    RawKv eps{"llama.attention.layer_norm_rms_epsilon", APH_VALUE_F32, {0x00, 0x00, 0x80, 0x3f}, {}};
    f.kvs.push_back(eps);
    RawKv toks{"tokenizer.ggml.tokens", APH_VALUE_ARRAY, {}, {}};
    put_u32(toks.payload, APH_VALUE_STRING);
    put_u64(toks.payload, 3);
    for (const char* s : {"a", "bc", "<s>"}) put_str(toks.payload, s);
    f.kvs.push_back(toks);
    RawKv types{"tokenizer.ggml.token_type", APH_VALUE_ARRAY, {}, {}};
    put_u32(types.payload, APH_VALUE_I32);
    put_u64(types.payload, 3);
    for (uint32_t v : {1u, 1u, 3u}) put_u32(types.payload, v);
    f.kvs.push_back(types);
    // f32 [8,2] = 64 bytes at 0; q4_0 [32,2] = 36 bytes at 64; q8_0 [64] = 68 bytes at 128 → 196 data bytes.
    f.tensors.push_back({"a.weight", {8, 2}, APH_DTYPE_F32, 0, {}, {}});
    f.tensors.push_back({"b.weight", {32, 2}, APH_DTYPE_Q4_0, 64, {}, {}});
    f.tensors.push_back({"c.weight", {64}, APH_DTYPE_Q8_0, 128, {}, {}});
    f.data_bytes = 196;
    return f;
}

}  // namespace gguf_test
