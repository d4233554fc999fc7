// Helpers shared by the APR tests: conversions through the core writers (exactly what `aprhost convert` does),
// metadata comparison and logits of a model file on a CPU backend.
#pragma once

#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/apr_writer.hpp>
#include <aprhost/core/gguf_writer.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/model_file.hpp>
#include <aprhost/core/plugin_registry.hpp>
#include <aprhost/core/session.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include <unistd.h>

namespace aprhost::test {

// A per-process path in the test-data folder (ctest runs cases in parallel processes).
inline std::string scratch(const std::string& name) {
    return std::string(APRHOST_TEST_DATA_DIR) + "/apr-" + std::to_string(::getpid()) + "-" + name;
}

inline std::vector<const core::TensorRef*> in_file_order(const core::ModelFile& f) {
    std::vector<const core::TensorRef*> v;
    for (auto& t : f.tensors()) v.push_back(&t);
    std::stable_sort(v.begin(), v.end(), [](auto* a, auto* b) { return std::less<const void*>()(a->data, b->data); });
    return v;
}

inline void convert(const std::string& in, const std::string& out, bool to_apr,
                    core::AprCompression c = core::AprCompression::NONE) {
    core::PluginRegistry reg(build_tree_plugins());
    auto f = core::ModelFile::open(reg, in);
    auto copy = [](const core::TensorRef* t) {
        return [t](std::span<uint8_t> o) { std::memcpy(o.data(), t->data, o.size()); };
    };
    if (to_apr) {
        core::AprWriter w(f->metadata(), c);
        for (auto* t : in_file_order(*f))
            w.add_tensor(t->name, t->dtype, std::vector<int64_t>(t->ne.begin(), t->ne.begin() + t->n_dims), copy(t));
        w.write(out);
    } else {
        uint32_t alignment = uint32_t(f->metadata().get_int("general.alignment").value_or(32));
        core::GgufWriter w(f->metadata(), alignment);
        for (auto* t : in_file_order(*f))
            w.add_tensor(t->name, t->dtype, std::vector<int64_t>(t->ne.begin(), t->ne.begin() + t->n_dims), copy(t));
        w.write(out);
    }
}

inline bool meta_value_equal(const core::MetaValue& a, const core::MetaValue& b) {
    if (a.type != b.type) return false;
    if (a.is_array())
        return a.elem_type == b.elem_type && a.ints == b.ints && a.strings == b.strings && a.floats == b.floats;
    return a.i == b.i && a.u == b.u && a.s == b.s && (a.f == b.f || (a.f != a.f && b.f != b.f));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// Logits of every position of `tokens` (one batched forward) and of the last position decoded token by token.
struct Logits {
    std::vector<float> batch, last_decoded;
};
inline Logits model_logits(const std::string& path, std::vector<int32_t> tokens, const std::string& backend = "cpu") {
    core::PluginRegistry reg(build_tree_plugins());
    auto be = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, backend), {{"threads", "2"}});
    core::Model model(reg, path, be);
    core::SessionOptions so;
    so.n_ctx = 128;
    core::Session s(model, reg.get(APH_PLUGIN_KV_CACHE, "contiguous"), so);
    for (auto& t : tokens) t %= int32_t(model.hparams().n_vocab);
    Logits out;
    out.batch = s.forward(tokens, true);
    s.reset();
    for (size_t i = 0; i < tokens.size(); ++i) out.last_decoded = s.forward(std::span<const int32_t>(&tokens[i], 1));
    return out;
}

}  // namespace aprhost::test
