#include "tokenizer_test_support.hpp"

#include <algorithm>

namespace aprhost::test {

namespace {
std::string utf8(uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += char(cp);
    } else if (cp < 0x800) {
        s += char(0xC0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += char(0xE0 | (cp >> 12));
        s += char(0x80 | ((cp >> 6) & 0x3F));
        s += char(0x80 | (cp & 0x3F));
    } else {
        s += char(0xF0 | (cp >> 18));
        s += char(0x80 | ((cp >> 12) & 0x3F));
        s += char(0x80 | ((cp >> 6) & 0x3F));
        s += char(0x80 | (cp & 0x3F));
    }
    return s;
}
}  // namespace

std::string gpt2_byte_char(unsigned char b) {
    // Bytes that are printable Latin-1 (other than space and soft hyphen) stand for themselves; the rest are
    // numbered from U+0100 in byte order.
    auto printable = [](unsigned c) { return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE; };
    if (printable(b)) return utf8(b);
    uint32_t n = 0;
    for (unsigned c = 0; c < b; ++c)
        if (!printable(c)) ++n;
    return utf8(0x100 + n);
}

std::string gpt2_bytes(const std::string& s) {
    std::string out;
    for (char c : s) out += gpt2_byte_char(static_cast<unsigned char>(c));
    return out;
}

BpeVocab::BpeVocab() {
    for (unsigned b = 0; b < 256; ++b) add(gpt2_byte_char(static_cast<unsigned char>(b)));
}

int32_t BpeVocab::add(const std::string& text, int32_t type) {
    tokens.push_back(text);
    types.push_back(type);
    return static_cast<int32_t>(tokens.size() - 1);
}

int32_t BpeVocab::merge(const std::string& left, const std::string& right) {
    merges.push_back(left + " " + right);
    int32_t existing = id(left + right);
    return existing >= 0 ? existing : add(left + right);
}

int32_t BpeVocab::id(const std::string& text) const {
    auto it = std::find(tokens.begin(), tokens.end(), text);
    return it == tokens.end() ? -1 : static_cast<int32_t>(it - tokens.begin());
}

core::Metadata BpeVocab::metadata(const std::string& pre) const {
    core::Metadata m;
    m.set_string("tokenizer.ggml.model", "gpt2");
    m.set_string("tokenizer.ggml.pre", pre);
    m.set_string_array("tokenizer.ggml.tokens", tokens);
    m.set_i32_array("tokenizer.ggml.token_type", types);
    m.set_string_array("tokenizer.ggml.merges", merges);
    return m;
}

SpmVocab::SpmVocab() {
    add("<unk>", 0, 2);
    add("<s>", 0, 3);
    add("</s>", 0, 3);
}

int32_t SpmVocab::add(const std::string& text, float score, int32_t type) {
    tokens.push_back(text);
    types.push_back(type);
    scores.push_back(score);
    return static_cast<int32_t>(tokens.size() - 1);
}

void SpmVocab::add_byte_tokens() {
    static const char* hex = "0123456789ABCDEF";
    for (unsigned b = 0; b < 256; ++b) add(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">", 0, 6);
}

int32_t SpmVocab::id(const std::string& text) const {
    auto it = std::find(tokens.begin(), tokens.end(), text);
    return it == tokens.end() ? -1 : static_cast<int32_t>(it - tokens.begin());
}

core::Metadata SpmVocab::metadata() const {
    core::Metadata m;
    m.set_string("tokenizer.ggml.model", "llama");
    m.set_string_array("tokenizer.ggml.tokens", tokens);
    m.set_i32_array("tokenizer.ggml.token_type", types);
    m.set_f32_array("tokenizer.ggml.scores", scores);
    m.set_u32("tokenizer.ggml.bos_token_id", 1);
    m.set_u32("tokenizer.ggml.eos_token_id", 2);
    m.set_u32("tokenizer.ggml.unknown_token_id", 0);
    return m;
}

std::string random_utf8(std::mt19937& rng, size_t n) {
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E}, {0x09, 0x0A}, {0xA0, 0xFF}, {0x100, 0x17F}, {0x370, 0x3FF}, {0x4E00, 0x4FFF},
        {0x3000, 0x3010}, {0x1F300, 0x1F64F}, {0x300, 0x36F}, {0x660, 0x669}, {0x2000, 0x200B},
    };
    std::string out;
    std::uniform_int_distribution<size_t> pick(0, std::size(ranges) - 1);
    for (size_t i = 0; i < n; ++i) {
        const auto& r = ranges[pick(rng)];
        out += utf8(std::uniform_int_distribution<uint32_t>(r[0], r[1])(rng));
    }
    return out;
}

}  // namespace aprhost::test
