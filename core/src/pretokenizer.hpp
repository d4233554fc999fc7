// Private to core: the regex pre-tokenizer of byte-level BPE models (tokenizer.ggml.pre), built on PCRE2.
// A pre-tokenizer is an ordered list of regexes; each one splits every current chunk into its matches and the
// unmatched gaps between them, and the next regex works inside those chunks (so lookaheads never see past a chunk).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::core {

class PreTokenizer {
public:
    // Known names (aliases are the other names GGUF converters write for the same splitting rules):
    // "default"/"gpt2"/"gpt-2", "qwen2"/"deepseek-r1-qwen", "llama-bpe"/"llama3"/"llama-v3",
    // "smollm"/"starcoder"/"refact".
    // Throws core::Error(BAD_INPUT) naming tokenizer.ggml.pre and the value for anything else.
    explicit PreTokenizer(std::string_view pre_name);
    ~PreTokenizer();
    PreTokenizer(PreTokenizer&&) noexcept;
    PreTokenizer& operator=(PreTokenizer&&) noexcept;

    // Appends the chunks of text to out, in order; their concatenation is text. Works on invalid UTF-8 too
    // (bytes that are not valid UTF-8 never match and end up in gap chunks). Thread-safe.
    void split(std::string_view text, std::vector<std::string_view>& out) const;

    // Canonical name of the preset ("gpt2", "qwen2", "llama3", "smollm").
    const std::string& name() const { return name_; }
    // Llama 3's tokenizer looks a whole chunk up in the vocabulary before merging (HF ignore_merges).
    bool ignore_merges() const { return ignore_merges_; }

private:
    struct Regex;
    std::string name_;
    bool ignore_merges_ = false;
    std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace aprhost::core
