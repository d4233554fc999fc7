// Private to core: what both tokenizer kinds share — the vocabulary read from tokenizer.ggml.*, the text → id
// map, special-token ids, and the split of input text around special tokens.
#pragma once

#include <aprhost/core/tokenizer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace aprhost::core {

// GGUF token types (tokenizer.ggml.token_type).
enum TokenType : int32_t {
    TOKEN_TYPE_NORMAL = 1,
    TOKEN_TYPE_UNKNOWN = 2,
    TOKEN_TYPE_CONTROL = 3,
    TOKEN_TYPE_USER_DEFINED = 4,
    TOKEN_TYPE_UNUSED = 5,
    TOKEN_TYPE_BYTE = 6,
};

// Transparent hash so maps keyed by std::string can be probed with a string_view without allocating.
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// A piece of input text: either a special token already resolved, or raw text still to be tokenized.
struct TextFragment {
    int32_t token = -1;     // >= 0: a special token
    std::string_view text;  // raw text (token < 0)
};

class VocabTokenizer : public Tokenizer {
public:
    int32_t find_token(std::string_view text) const;
    // SentencePiece models with a space prefix drop the one leading space of decoded text (HF "Strip" decoder).
    virtual bool decode_strips_leading_space() const { return false; }

protected:
    // Reads tokens, types, special ids and add_bos (default add_bos_default when the key is absent).
    // Throws core::Error(BAD_INPUT) naming the key on empty/mismatched arrays or out-of-range ids.
    void load_vocab(const Metadata& meta, bool add_bos_default);

    // Splits text around special tokens the way llama.cpp does: tokens are tried longest first over the whole
    // text, each one splitting the raw fragments left by the previous ones. User-defined tokens always match;
    // control and unknown tokens only when parse_special is true.
    std::vector<TextFragment> partition(std::string_view text, bool parse_special) const;

    int32_t token_type(int32_t id) const { return token_types_[static_cast<size_t>(id)]; }
    bool valid_id(int32_t id) const { return id >= 0 && id < vocab_size(); }

    StringMap<int32_t> token_to_id_;
    std::vector<int32_t> special_ids_;  // control / user-defined / unknown tokens, longest text first
    int32_t unk_id_ = -1;
};

std::unique_ptr<Tokenizer> make_bpe_tokenizer(const Metadata& meta);
std::unique_ptr<Tokenizer> make_spm_tokenizer(const Metadata& meta);

// UTF-8 helpers shared by the tokenizers and the stream: length of the sequence starting at s[i] if it is a
// complete, valid (shortest-form, non-surrogate, <= U+10FFFF) sequence, else 0.
size_t utf8_valid_length(std::string_view s, size_t i);

}  // namespace aprhost::core
