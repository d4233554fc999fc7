// APR files from other writers: HF tensor names (model.layers.N.self_attn.q_proj.weight, ...) and 2-D shapes in
// GGUF order instead of [out, in] are normalised, so such files give the GGUF's tensors and bit-identical logits.
#include "apr_test_support.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <filesystem>
#include <regex>

using namespace aprhost;

namespace {

std::string hf_name(const std::string& gguf) {
    if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
    if (gguf == "output_norm.weight") return "model.norm.weight";
    if (gguf == "output.weight") return "lm_head.weight";
    static const std::pair<const char*, const char*> parts[] = {
        {"attn_norm", "input_layernorm"}, {"attn_q", "self_attn.q_proj"},   {"attn_k", "self_attn.k_proj"},
        {"attn_v", "self_attn.v_proj"},   {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
        {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},          {"ffn_down", "mlp.down_proj"}};
    std::smatch m;
    static const std::regex re(R"(blk\.(\d+)\.([a-z_]+)\.(weight|bias))");
    if (std::regex_match(gguf, m, re))
        for (auto& [g, h] : parts)
            if (m[2] == g) return "model.layers." + m[1].str() + "." + h + "." + m[3].str();
    return gguf;
}

// Rewrites the dims of every multi-dim index entry into GGUF order (innermost first) and fixes both CRCs.
void dims_to_gguf_order(std::vector<uint8_t>& b) {
    auto rd = [&](size_t at, size_t n) { uint64_t v = 0; for (size_t i = 0; i < n; ++i) v |= uint64_t(b[at + i]) << (8 * i); return v; };
    auto wr = [&](size_t at, uint64_t v, size_t n) { for (size_t i = 0; i < n; ++i) b[at + i] = uint8_t(v >> (8 * i)); };
    uint32_t count = uint32_t(rd(8, 4));
    size_t pos = size_t(rd(24, 8));
    for (uint32_t i = 0; i < count; ++i) {
        size_t name_len = size_t(rd(pos, 2));
        pos += 2 + name_len + 1;
        uint8_t ndim = b[pos++];
        std::vector<uint64_t> dims(ndim);
        for (uint8_t d = 0; d < ndim; ++d) dims[d] = rd(pos + 8 * d, 8);
        for (uint8_t d = 0; d < ndim; ++d) wr(pos + 8 * d, dims[ndim - 1 - d], 8);
        pos += 8 * ndim + 16;
    }
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, b.data(), 40);
    c = crc32(c, b.data() + 44, 20);
    wr(40, c, 4);
    wr(b.size() - 4, crc32(crc32(0L, Z_NULL, 0), b.data(), uInt(b.size() - 4)), 4);
}

void write_variant(const std::string& gguf, const std::string& out, bool hf_names, bool gguf_dims) {
    core::PluginRegistry reg(test::build_tree_plugins());
    auto f = core::ModelFile::open(reg, gguf);
    core::AprWriter w(f->metadata());
    for (auto* t : test::in_file_order(*f))
        w.add_tensor(hf_names ? hf_name(t->name) : t->name, t->dtype,
                     std::vector<int64_t>(t->ne.begin(), t->ne.begin() + t->n_dims),
                     [t](std::span<uint8_t> o) { std::memcpy(o.data(), t->data, o.size()); });
    w.write(out);
    if (gguf_dims) {
        auto b = test::read_bytes(out);
        dims_to_gguf_order(b);
        test::write_bytes(out, b);
    }
}

}  // namespace

TEST_CASE("HF names and GGUF-order dims are normalised", "[apr][layout]") {
    auto [hf, gguf_dims] = GENERATE(table<bool, bool>({{true, false}, {false, true}, {true, true}}));
    INFO("hf names " << hf << ", gguf dims " << gguf_dims);
    std::string gguf = test::synth_model("qwen2", "tiny", "q4_k");
    std::string apr = test::scratch("variant.apr");
    write_variant(gguf, apr, hf, gguf_dims);
    {
        core::PluginRegistry reg(test::build_tree_plugins());
        auto a = core::ModelFile::open(reg, gguf);
        auto b = core::ModelFile::open(reg, apr);
        REQUIRE(a->tensors().size() == b->tensors().size());
        for (const auto& t : a->tensors()) {
            INFO(t.name);
            auto* u = b->find_tensor(t.name);
            REQUIRE(u);
            CHECK(u->ne == t.ne);
            CHECK(u->data != t.data);
            CHECK(std::memcmp(u->data, t.data, t.size) == 0);
        }
    }
    const std::vector<int32_t> tokens = {1, 2, 3, 500, 9};
    auto x = test::model_logits(gguf, tokens), y = test::model_logits(apr, tokens);
    REQUIRE(x.batch.size() == y.batch.size());
    CHECK(std::memcmp(x.batch.data(), y.batch.data(), x.batch.size() * 4) == 0);
    std::filesystem::remove(apr);
}

TEST_CASE("HF tensor names map to GGUF names", "[apr][layout]") {
    CHECK(hf_name("blk.3.attn_q.bias") == "model.layers.3.self_attn.q_proj.bias");
    CHECK(hf_name("blk.12.ffn_down.weight") == "model.layers.12.mlp.down_proj.weight");
}
