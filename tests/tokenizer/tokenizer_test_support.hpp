// Test helpers: small hand-made vocabularies turned into tokenizer.ggml.* metadata, and random UTF-8 text.
#pragma once

#include <aprhost/core/metadata.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace aprhost::test {

// The GPT-2 byte-level stand-in for one byte ("Ġ" for ' ', "a" for 'a'), written independently of core's table.
std::string gpt2_byte_char(unsigned char b);
// Byte-level text of a whole string ("a b" -> "aĠb").
std::string gpt2_bytes(const std::string& s);

// Byte-level BPE vocabulary: starts with the 256 byte tokens (id = byte value order of the GPT-2 table is not
// assumed: look ids up with id()).
struct BpeVocab {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<std::string> merges;

    BpeVocab();  // the 256 byte tokens
    int32_t add(const std::string& text, int32_t type = 1);
    // Adds the merge "left right" (byte-level texts) and its result as a token; returns the result's id.
    int32_t merge(const std::string& left, const std::string& right);
    int32_t id(const std::string& text) const;  // -1 when absent
    core::Metadata metadata(const std::string& pre = "gpt2") const;
};

// SentencePiece vocabulary: <unk>, <s>, </s> at 0..2, then whatever the test adds.
struct SpmVocab {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<float> scores;

    SpmVocab();
    int32_t add(const std::string& text, float score, int32_t type = 1);
    void add_byte_tokens();  // <0x00>..<0xFF>, type 6
    int32_t id(const std::string& text) const;
    core::Metadata metadata() const;
};

// n random code points drawn from ASCII, Latin-1, CJK, emoji and whitespace (valid UTF-8, no U+2581).
std::string random_utf8(std::mt19937& rng, size_t n);

}  // namespace aprhost::test
