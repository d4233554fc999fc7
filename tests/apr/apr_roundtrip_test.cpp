// GGUF → APR → GGUF keeps every tensor's bytes and the metadata (keys, types, values), for every synthetic quant
// mix and SmolLM2; the APR file shows the same tensors as the GGUF it came from.
#include "apr_test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace aprhost;

namespace {

void check_same_model(const std::string& a_path, const std::string& b_path) {
    core::PluginRegistry reg(test::build_tree_plugins());
    auto a = core::ModelFile::open(reg, a_path);
    auto b = core::ModelFile::open(reg, b_path);
    REQUIRE(a->metadata().size() == b->metadata().size());
    for (const auto& [k, v] : a->metadata().entries()) {
        INFO("key " << k);
        const core::MetaValue* w = b->metadata().find(k);
        REQUIRE(w);
        CHECK(test::meta_value_equal(v, *w));
    }
    REQUIRE(a->tensors().size() == b->tensors().size());
    for (const auto& t : a->tensors()) {
        INFO("tensor " << t.name);
        const core::TensorRef* u = b->find_tensor(t.name);
        REQUIRE(u);
        CHECK(u->dtype == t.dtype);
        CHECK(u->n_dims == t.n_dims);
        CHECK(u->ne == t.ne);
        REQUIRE(u->size == t.size);
        CHECK(std::memcmp(u->data, t.data, t.size) == 0);
    }
}

void round_trip(const std::string& gguf, core::AprCompression c) {
    std::string apr = test::scratch("rt.apr"), back = test::scratch("rt.gguf");
    test::convert(gguf, apr, true, c);
    test::convert(apr, back, false);
    {
        core::PluginRegistry reg(test::build_tree_plugins());
        CHECK(core::ModelFile::open(reg, apr)->format_plugin().name == "apr");
    }
    check_same_model(gguf, apr);   // the APR plugin presents the GGUF's model
    check_same_model(gguf, back);  // and converting back loses nothing
    std::filesystem::remove(apr);
    std::filesystem::remove(back);
}

}  // namespace

TEST_CASE("GGUF -> APR -> GGUF round trip on synthetic models", "[apr][roundtrip]") {
    auto [arch, quant] = GENERATE(table<std::string, std::string>(
        {{"qwen2", "q4_k"}, {"qwen2", "q4_0"}, {"qwen2", "q8_0"}, {"qwen2", "f16"}, {"llama", "q4_k"}}));
    INFO(arch << " " << quant);
    round_trip(test::synth_model(arch, "tiny", quant), core::AprCompression::NONE);
}

TEST_CASE("round trip through compressed APR files", "[apr][roundtrip][compress]") {
    auto c = GENERATE(core::AprCompression::LZ4, core::AprCompression::ZSTD);
    INFO(core::apr_compression_name(c));
    round_trip(test::synth_model("qwen2", "tiny", "q4_k"), c);
}

TEST_CASE("GGUF -> APR -> GGUF round trip on SmolLM2-135M", "[apr][roundtrip][smollm2]") {
    auto path = test::smollm2_path();
    if (!path) {
        WARN("SKIPPED: SmolLM2 model not found (run scripts/fetch-models.sh or set APRHOST_SMOLLM2)");
        return;
    }
    round_trip(*path, core::AprCompression::NONE);
}

TEST_CASE("APR writer lays the file out as the spec says", "[apr][writer]") {
    std::string gguf = test::synth_model("llama", "tiny", "q4_0");
    std::string apr = test::scratch("layout.apr");
    test::convert(gguf, apr, true);
    auto b = test::read_bytes(apr);
    REQUIRE(b.size() > 64);
    CHECK(std::memcmp(b.data(), "APR\0", 4) == 0);
    CHECK(b[4] == 2);
    auto u64 = [&](size_t o) { uint64_t v = 0; std::memcpy(&v, &b[o], 8); return v; };
    uint16_t flags = uint16_t(b[6] | (b[7] << 8));
    CHECK((flags & 0x400) != 0);  // row-major
    CHECK((flags & 0x200) != 0);  // has vocab
    CHECK(u64(12) == 64);
    CHECK(u64(24) % 64 == 0);
    CHECK(u64(32) % 64 == 0);
    // The metadata uses the canonical APR names.
    uint32_t msize = 0;
    std::memcpy(&msize, &b[20], 4);
    auto meta = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(&b[64]), msize));
    CHECK(meta["architecture"] == "llama");
    CHECK(meta.contains("hidden_size"));
    CHECK(meta.contains("num_layers"));
    CHECK(meta.contains("tokenizer.vocabulary"));
    CHECK(meta.contains("chat_template"));
    CHECK(meta["rope_type"] == 0);
    std::filesystem::remove(apr);
}
