// Tokenizer factory and the parts both kinds share: vocabulary loading, special ids, end-of-generation set,
// the special-token partition of input text, and decode.
#include "tokenizer_vocab.hpp"

#include <aprhost/core/error.hpp>

#include <algorithm>
#include <cstdint>

namespace aprhost::core {

std::unique_ptr<Tokenizer> Tokenizer::from_metadata(const Metadata& meta) {
    std::optional<std::string> model = meta.get_string("tokenizer.ggml.model");
    if (!model) throw Error(ErrorKind::BAD_INPUT, "metadata has no tokenizer.ggml.model");
    if (*model == "gpt2") return make_bpe_tokenizer(meta);
    if (*model == "llama") return make_spm_tokenizer(meta);
    throw Error(ErrorKind::BAD_INPUT,
                "unsupported tokenizer.ggml.model '" + *model +
                    "' (known: gpt2 = byte-level BPE, llama = SentencePiece)");
}

int32_t Tokenizer::token_id(std::string_view text) const {
    if (auto* v = dynamic_cast<const VocabTokenizer*>(this)) return v->find_token(text);
    for (size_t i = 0; i < tokens_.size(); ++i)
        if (tokens_[i] == text) return static_cast<int32_t>(i);
    return -1;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
    std::string out;
    for (int32_t id : ids) out += token_to_piece(id, render_special);
    auto* v = dynamic_cast<const VocabTokenizer*>(this);
    if (v && v->decode_strips_leading_space() && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return out;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
    return id >= 0 && std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------------------------

int32_t VocabTokenizer::find_token(std::string_view text) const {
    auto it = token_to_id_.find(text);
    return it == token_to_id_.end() ? -1 : it->second;
}

namespace {

// Reads an optional token id key. Absent, or the "none" spellings some converters write (-1 / 0xFFFFFFFF),
// give -1; any other id outside the vocabulary is an error naming the key.
int32_t read_token_id(const Metadata& meta, const char* key, size_t n_vocab) {
    std::optional<int64_t> v = meta.get_int(key);
    if (!v || *v == -1 || *v == 0xFFFFFFFFll) return -1;
    if (*v < 0 || static_cast<uint64_t>(*v) >= n_vocab)
        throw Error(ErrorKind::BAD_INPUT, std::string("metadata key '") + key + "' = " + std::to_string(*v) +
                                              " is outside the vocabulary of " + std::to_string(n_vocab) + " tokens");
    return static_cast<int32_t>(*v);
}

// Token texts that end a turn in the chat formats aprhost knows, whatever the model calls its EOS.
constexpr const char* kEndOfTurnTexts[] = {"<|im_end|>",   "<|eot_id|>",      "<|endoftext|>",
                                           "<end_of_turn>", "<|eom_id|>",     "<|end_of_text|>"};

}  // namespace

void VocabTokenizer::load_vocab(const Metadata& meta, bool add_bos_default) {
    tokens_ = meta.get_string_array("tokenizer.ggml.tokens");
    if (tokens_.empty()) throw Error(ErrorKind::BAD_INPUT, "metadata key 'tokenizer.ggml.tokens' is missing or empty");
    if (tokens_.size() > size_t(INT32_MAX))
        throw Error(ErrorKind::BAD_INPUT, "metadata key 'tokenizer.ggml.tokens' has too many entries");
    const size_t n = tokens_.size();

    token_types_ = meta.get_i32_array("tokenizer.ggml.token_type");
    if (token_types_.empty()) token_types_.assign(n, TOKEN_TYPE_NORMAL);
    if (token_types_.size() != n)
        throw Error(ErrorKind::BAD_INPUT, "metadata key 'tokenizer.ggml.token_type' has " +
                                              std::to_string(token_types_.size()) + " entries for " +
                                              std::to_string(n) + " tokens");

    token_to_id_.reserve(n);
    // Later duplicates win, as in llama.cpp, so both engines resolve a duplicated text to the same id.
    for (size_t i = 0; i < n; ++i) token_to_id_[tokens_[i]] = static_cast<int32_t>(i);

    bos_id_ = read_token_id(meta, "tokenizer.ggml.bos_token_id", n);
    eos_id_ = read_token_id(meta, "tokenizer.ggml.eos_token_id", n);
    unk_id_ = read_token_id(meta, "tokenizer.ggml.unknown_token_id", n);
    if (unk_id_ < 0) {
        for (size_t i = 0; i < n && unk_id_ < 0; ++i)
            if (token_types_[i] == TOKEN_TYPE_UNKNOWN) unk_id_ = static_cast<int32_t>(i);
    }
    if (unk_id_ < 0) unk_id_ = find_token("<unk>");

    std::optional<bool> add_bos = meta.get_bool("tokenizer.ggml.add_bos_token");
    add_bos_ = add_bos.value_or(add_bos_default) && bos_id_ >= 0;

    eog_ids_.clear();
    auto add_eog = [&](int32_t id) {
        if (id >= 0 && std::find(eog_ids_.begin(), eog_ids_.end(), id) == eog_ids_.end()) eog_ids_.push_back(id);
    };
    add_eog(eos_id_);
    add_eog(read_token_id(meta, "tokenizer.ggml.eot_token_id", n));
    add_eog(read_token_id(meta, "tokenizer.ggml.eom_token_id", n));
    for (const char* text : kEndOfTurnTexts) add_eog(find_token(text));

    special_ids_.clear();
    for (size_t i = 0; i < n; ++i) {
        int32_t t = token_types_[i];
        if ((t == TOKEN_TYPE_CONTROL || t == TOKEN_TYPE_USER_DEFINED || t == TOKEN_TYPE_UNKNOWN) && !tokens_[i].empty())
            special_ids_.push_back(static_cast<int32_t>(i));
    }
    std::stable_sort(special_ids_.begin(), special_ids_.end(), [&](int32_t a, int32_t b) {
        return tokens_[static_cast<size_t>(a)].size() > tokens_[static_cast<size_t>(b)].size();
    });
}

std::vector<TextFragment> VocabTokenizer::partition(std::string_view text, bool parse_special) const {
    std::vector<TextFragment> frags;
    if (text.empty()) return frags;
    frags.push_back({-1, text});
    std::vector<TextFragment> next;
    for (int32_t id : special_ids_) {
        if (!parse_special && token_type(id) != TOKEN_TYPE_USER_DEFINED) continue;
        const std::string& s = tokens_[static_cast<size_t>(id)];
        // Most special tokens do not occur at all: check before rebuilding the fragment list.
        bool occurs = false;
        for (const TextFragment& f : frags) {
            if (f.token < 0 && f.text.find(s) != std::string_view::npos) {
                occurs = true;
                break;
            }
        }
        if (!occurs) continue;
        next.clear();
        for (const TextFragment& f : frags) {
            if (f.token >= 0) {
                next.push_back(f);
                continue;
            }
            std::string_view rest = f.text;
            for (size_t at = rest.find(s); at != std::string_view::npos; at = rest.find(s)) {
                if (at > 0) next.push_back({-1, rest.substr(0, at)});
                next.push_back({id, {}});
                rest.remove_prefix(at + s.size());
            }
            if (!rest.empty()) next.push_back({-1, rest});
        }
        frags.swap(next);
    }
    return frags;
}

size_t utf8_valid_length(std::string_view s, size_t i) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    if (i >= n) return 0;
    unsigned char c = p[i];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; ++k) {
        if ((p[i + k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

}  // namespace aprhost::core
