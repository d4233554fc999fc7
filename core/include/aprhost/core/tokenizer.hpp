// Tokenizers built from model metadata (tokenizer.ggml.*): byte-level BPE ("gpt2") with the pre-tokenizer
// selected by tokenizer.ggml.pre, and SentencePiece ("llama") with byte fallback.
#pragma once

#include <aprhost/core/metadata.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::core {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Builds the tokenizer the metadata describes. Throws core::Error(BAD_INPUT) for unknown models /
    // pre-tokenizers or inconsistent vocabularies (naming the key).
    static std::unique_ptr<Tokenizer> from_metadata(const Metadata& meta);

    // Encodes text. add_bos: prepend BOS when the model asks for it (tokenizer.ggml.add_bos_token).
    // parse_special: text like "<|im_start|>" becomes the special token instead of being split.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const = 0;

    // The raw bytes a token stands for (byte-level BPE unmapped, SentencePiece '▁' → ' ', <0xNN> → byte).
    // Control tokens (BOS/EOS/<|im_start|>…) give "" unless render_special is true.
    virtual std::string token_to_piece(int32_t id, bool render_special = false) const = 0;

    std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;

    virtual const char* model_name() const = 0;  // "gpt2 (qwen2)", "llama (sentencepiece)"
    int32_t vocab_size() const { return static_cast<int32_t>(tokens_.size()); }
    const std::string& token_text(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
    int32_t token_id(std::string_view text) const;  // -1 when absent

    int32_t bos_id() const { return bos_id_; }  // -1 when the model has none
    int32_t eos_id() const { return eos_id_; }
    bool add_bos_default() const { return add_bos_; }
    // End of generation: EOS, EOT (<|im_end|>, <|eot_id|>, <|endoftext|>) and tokenizer.ggml.eot_token_id.
    bool is_end_of_generation(int32_t id) const;

protected:
    std::vector<std::string> tokens_;
    std::vector<int32_t> token_types_;  // GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte
    std::vector<int32_t> eog_ids_;
    int32_t bos_id_ = -1;
    int32_t eos_id_ = -1;
    bool add_bos_ = false;
};

// Incremental detokenizer: feeds token pieces and releases only complete UTF-8 sequences, so a multi-byte
// character split over two tokens never prints as garbage.
class Utf8Stream {
public:
    std::string push(std::string_view bytes);  // returns the newly complete text
    std::string flush();                       // whatever is left (invalid tails as U+FFFD)

private:
    std::string pending_;
};

}  // namespace aprhost::core
