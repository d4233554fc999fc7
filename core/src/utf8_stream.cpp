// Incremental UTF-8 release for streamed detokenization. Invalid input is replaced per the Unicode
// "maximal subpart" rule (one U+FFFD per broken sequence prefix), so output is always valid UTF-8.
#include "tokenizer_vocab.hpp"

namespace aprhost::core {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// For the sequence starting at s[i]: need = its announced length (0: not a lead byte), have = how many leading
// bytes (1..need) are a valid prefix of a well-formed sequence.
void utf8_prefix(std::string_view s, size_t i, size_t& need, size_t& have) {
    auto c = static_cast<unsigned char>(s[i]);
    need = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    have = 1;
    if (need == 0) return;
    for (size_t k = 1; k < need && i + k < s.size(); ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        unsigned char lo = 0x80, hi = 0xBF;
        if (k == 1) {
            // Second-byte ranges exclude overlong forms, surrogates and code points above U+10FFFF.
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        }
        if (b < lo || b > hi) break;
        ++have;
    }
}

// Moves the complete part of pending into the returned text. With final_flush, an incomplete tail is replaced
// too; otherwise it stays in pending for the next call.
std::string drain(std::string& pending, bool final_flush) {
    std::string out;
    size_t i = 0;
    while (i < pending.size()) {
        size_t len = utf8_valid_length(pending, i);
        if (len > 0) {
            out.append(pending, i, len);
            i += len;
            continue;
        }
        size_t need = 0, have = 0;
        utf8_prefix(pending, i, need, have);
        if (need > 0 && have < need && i + have == pending.size() && !final_flush) break;  // wait for more bytes
        out += kReplacement;
        i += have;
    }
    pending.erase(0, i);
    return out;
}

}  // namespace

std::string Utf8Stream::push(std::string_view bytes) {
    pending_.append(bytes);
    return drain(pending_, false);
}

std::string Utf8Stream::flush() { return drain(pending_, true); }

}  // namespace aprhost::core
