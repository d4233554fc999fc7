// Chat templates: detected from tokenizer.chat_template and rendered by built-in formatters (no Jinja engine).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aprhost::core {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

enum class ChatFormat {
    CHATML,   // <|im_start|>role\n...<|im_end|>\n  (Qwen2/2.5, SmolLM2)
    LLAMA3,   // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
    LLAMA2,   // [INST] ... [/INST]
    GEMMA,    // <start_of_turn>user\n...<end_of_turn>\n
    ZEPHYR,   // <|user|>\n...</s>\n
};

const char* chat_format_name(ChatFormat f);

// Detects the format from the Jinja source; empty template → CHATML. Also returns the default system prompt the
// template injects when the conversation has none (Qwen2.5: "You are Qwen, created by Alibaba Cloud...",
// SmolLM2: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"), or "".
struct ChatTemplate {
    ChatFormat format = ChatFormat::CHATML;
    std::string default_system;
    std::string bos_text;  // BOS text the template itself emits at the start (e.g. "<|begin_of_text|>"), or ""

    static ChatTemplate detect(std::string_view jinja_source);

    // Renders the conversation; add_generation_prompt appends the assistant header.
    std::string apply(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;
};

}  // namespace aprhost::core
