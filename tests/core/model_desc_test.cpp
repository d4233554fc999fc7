#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/model_desc.hpp>
#include <aprhost/core/model_file.hpp>

#include <catch2/catch.hpp>

#include <fstream>

using namespace aprhost;

namespace {
}  // namespace

TEST_CASE("qwen2 description: biases, NeoX rope, tied embeddings", "[model]") {
    core::PluginRegistry reg(test::build_tree_plugins());
    auto f = core::ModelFile::open(reg, test::synth_model("qwen2", "tiny", "q4_k"));
    auto d = core::describe_model(*f);
    CHECK(d.hp.arch == "qwen2");
    CHECK(d.hp.rope_mode == APH_ROPE_NEOX);
    CHECK(d.hp.n_layer == 2);
    CHECK(d.hp.head_dim == 64);
    REQUIRE(d.layers.size() == 2);
    CHECK(d.layers[0].bq != nullptr);
    CHECK(d.tied_embeddings);
    CHECK(d.output == d.tok_embd);
    CHECK(d.weight_bytes_per_token() > 0);
}

TEST_CASE("llama description: no biases, normal rope", "[model]") {
    core::PluginRegistry reg(test::build_tree_plugins());
    auto f = core::ModelFile::open(reg, test::synth_model("llama", "tiny", "q4_0"));
    auto d = core::describe_model(*f);
    CHECK(d.hp.arch == "llama");
    CHECK(d.hp.rope_mode == APH_ROPE_NORM);
    CHECK(d.layers[0].bq == nullptr);
}

TEST_CASE("a non-model file is BAD_INPUT naming the file", "[model]") {
    core::PluginRegistry reg(test::build_tree_plugins());
    std::string p = std::string(APRHOST_TEST_DATA_DIR) + "/not-a-model.bin";
    { std::ofstream(p) << "hello, I am not a model"; }
    try {
        core::ModelFile::open(reg, p);
        FAIL("expected an error");
    } catch (const core::Error& e) {
        CHECK(e.kind() == core::ErrorKind::BAD_INPUT);
        CHECK(std::string(e.what()).find("not-a-model.bin") != std::string::npos);
    }
    CHECK_THROWS_AS(core::ModelFile::open(reg, "/nonexistent/file.gguf"), core::Error);
}
