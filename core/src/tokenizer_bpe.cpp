// Byte-level BPE (tokenizer.ggml.model = "gpt2"): GPT-2's byte → printable-code-point mapping, a regex
// pre-tokenizer chosen by tokenizer.ggml.pre, and rank-ordered merges from tokenizer.ggml.merges.
#include "pretokenizer.hpp"
#include "tokenizer_vocab.hpp"

#include <aprhost/core/error.hpp>

#include <array>
#include <queue>

namespace aprhost::core {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// GPT-2 byte <-> code point mapping: printable Latin-1 bytes stand for themselves, the other 68 bytes (controls,
// space, 0x7F-0xA0, 0xAD) take code points 256, 257, ... in byte order, so every token is printable text.
// ---------------------------------------------------------------------------------------------------------------

struct ByteLevelMap {
    std::array<std::string, 256> byte_to_utf8;  // UTF-8 of the code point standing for each byte
    std::array<int16_t, 512> cp_to_byte;        // inverse; -1 where a code point stands for no byte
};

std::string utf8_encode(uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

const ByteLevelMap& byte_level_map() {
    static const ByteLevelMap map = [] {
        ByteLevelMap m;
        m.cp_to_byte.fill(-1);
        uint32_t next_extra = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            uint32_t cp = printable ? b : next_extra++;
            m.byte_to_utf8[b] = utf8_encode(cp);
            m.cp_to_byte[cp] = static_cast<int16_t>(b);
        }
        return m;
    }();
    return map;
}

// Turns a byte-level token text back into the bytes it stands for. Code points outside the mapping (only in
// odd vocabularies) are kept as their own UTF-8.
std::string byte_level_decode(std::string_view text) {
    const ByteLevelMap& m = byte_level_map();
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        size_t len = utf8_valid_length(text, i);
        if (len == 0) {
            out += text[i++];
            continue;
        }
        const auto* p = reinterpret_cast<const unsigned char*>(text.data() + i);
        uint32_t cp = len == 1 ? p[0] : len == 2 ? ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu) : 0x10000;
        if (cp < m.cp_to_byte.size() && m.cp_to_byte[cp] >= 0) {
            out += static_cast<char>(m.cp_to_byte[cp]);
        } else {
            out.append(text.data() + i, len);
        }
        i += len;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The tokenizer
// ---------------------------------------------------------------------------------------------------------------

class BpeTokenizer final : public VocabTokenizer {
public:
    explicit BpeTokenizer(const Metadata& meta);

    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override;
    std::string token_to_piece(int32_t id, bool render_special) const override;
    const char* model_name() const override { return model_name_.c_str(); }

private:
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;
    // Rank of merging left+right (lower merges first), or -1. key is scratch space.
    int32_t merge_rank(std::string_view left, std::string_view right, std::string& key) const;
    void push_bytes(std::string_view bytes, std::vector<int32_t>& out) const;

    PreTokenizer pre_;
    StringMap<int32_t> ranks_;  // "left right" (the merges line itself) -> rank
    size_t max_merge_len_ = 0;
    std::vector<std::string> pieces_;  // bytes each token stands for
    std::array<int32_t, 256> byte_token_{};
    std::string model_name_;
};

BpeTokenizer::BpeTokenizer(const Metadata& meta)
    : pre_(meta.get_string("tokenizer.ggml.pre").value_or("default")) {
    // Llama 3 vocabularies want BOS unless the file says otherwise (as llama.cpp does for the llama-bpe preset).
    load_vocab(meta, pre_.name() == "llama3");
    model_name_ = "gpt2 (" + meta.get_string("tokenizer.ggml.pre").value_or("default") + ")";

    const std::vector<std::string>& merges = meta.get_string_array("tokenizer.ggml.merges");
    ranks_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string& line = merges[i];
        // Byte-level token texts never contain U+0020 (space maps to U+0120), so the single space is the divider.
        size_t sp = line.find(' ', 1);
        if (sp == std::string::npos || sp + 1 >= line.size())
            throw Error(ErrorKind::BAD_INPUT, "metadata key 'tokenizer.ggml.merges' entry " + std::to_string(i) +
                                                  " is not \"left right\": '" + line.substr(0, 40) + "'");
        ranks_.emplace(line, static_cast<int32_t>(i));  // first occurrence keeps the lower rank
        max_merge_len_ = std::max(max_merge_len_, line.size());
    }

    pieces_.reserve(tokens_.size());
    for (const std::string& t : tokens_) pieces_.push_back(byte_level_decode(t));
    const ByteLevelMap& m = byte_level_map();
    for (size_t b = 0; b < 256; ++b) {
        byte_token_[b] = find_token(m.byte_to_utf8[b]);
    }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
    std::vector<int32_t> out;
    if (add_bos && add_bos_) out.push_back(bos_id_);
    std::vector<std::string_view> words;
    for (const TextFragment& f : partition(text, parse_special)) {
        if (f.token >= 0) {
            out.push_back(f.token);
            continue;
        }
        words.clear();
        pre_.split(f.text, words);
        for (std::string_view w : words) encode_word(w, out);
    }
    return out;
}

int32_t BpeTokenizer::merge_rank(std::string_view left, std::string_view right, std::string& key) const {
    if (left.size() + right.size() + 1 > max_merge_len_) return -1;
    key.assign(left);
    key += ' ';
    key += right;
    auto it = ranks_.find(std::string_view(key));
    return it == ranks_.end() ? -1 : it->second;
}

void BpeTokenizer::push_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
    for (char c : bytes) {
        int32_t id = byte_token_[static_cast<unsigned char>(c)];
        if (id < 0) id = unk_id_;
        if (id >= 0) out.push_back(id);  // a vocabulary without the byte and without <unk> cannot say it: drop
    }
}

// One pre-tokenized chunk. Symbols start as one per input byte (as mapped text) in a linked list; a min-heap of
// adjacent pairs ordered by (rank, position) picks the next merge. Entries made stale by an earlier merge are
// detected by their recorded length and skipped, so a word of n bytes costs O(n log n), not O(n^2).
void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    const ByteLevelMap& m = byte_level_map();

    struct Symbol {
        uint32_t start;   // offset in mapped
        uint32_t len;     // bytes of mapped text; 0 once merged into its left neighbour
        int32_t prev;
        int32_t next;
        uint32_t nbytes;  // input bytes covered (the symbol's index is its first input byte)
    };
    std::string mapped;
    mapped.reserve(word.size() * 2);
    std::vector<Symbol> sym(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
        const std::string& u = m.byte_to_utf8[static_cast<unsigned char>(word[i])];
        sym[i] = {static_cast<uint32_t>(mapped.size()), static_cast<uint32_t>(u.size()), static_cast<int32_t>(i) - 1,
                  i + 1 < word.size() ? static_cast<int32_t>(i + 1) : -1, 1};
        mapped += u;
    }

    if (pre_.ignore_merges() || word.size() == 1) {
        int32_t id = find_token(mapped);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }

    struct Pair {
        int32_t rank;
        int32_t left;
        int32_t right;
        uint32_t len;
    };
    auto later = [](const Pair& a, const Pair& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; };
    std::priority_queue<Pair, std::vector<Pair>, decltype(later)> heap(later);
    std::string key;
    auto text_of = [&](const Symbol& s) { return std::string_view(mapped).substr(s.start, s.len); };
    auto try_add = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        int32_t rank = merge_rank(text_of(sym[size_t(l)]), text_of(sym[size_t(r)]), key);
        if (rank >= 0) heap.push({rank, l, r, sym[size_t(l)].len + sym[size_t(r)].len});
    };
    for (size_t i = 0; i + 1 < sym.size(); ++i) try_add(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));

    while (!heap.empty()) {
        Pair p = heap.top();
        heap.pop();
        Symbol& l = sym[size_t(p.left)];
        Symbol& r = sym[size_t(p.right)];
        if (l.len == 0 || r.len == 0 || l.next != p.right || l.len + r.len != p.len) continue;
        l.len += r.len;
        l.nbytes += r.nbytes;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[size_t(r.next)].prev = p.left;
        try_add(l.prev, p.left);
        try_add(p.left, l.next);
    }

    for (int32_t i = 0; i >= 0; i = sym[size_t(i)].next) {
        const Symbol& s = sym[size_t(i)];
        int32_t id = find_token(text_of(s));
        if (id >= 0) {
            out.push_back(id);
        } else {
            push_bytes(word.substr(size_t(i), s.nbytes), out);
        }
    }
}

std::string BpeTokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (!valid_id(id))
        throw Error(ErrorKind::BAD_INPUT,
                    "token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocab_size()));
    switch (token_type(id)) {
    case TOKEN_TYPE_CONTROL:
    case TOKEN_TYPE_UNKNOWN: return render_special ? tokens_[size_t(id)] : std::string();
    case TOKEN_TYPE_USER_DEFINED: return tokens_[size_t(id)];  // stored as plain text, not byte-mapped
    default: return pieces_[size_t(id)];
    }
}

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(const Metadata& meta) { return std::make_unique<BpeTokenizer>(meta); }

}  // namespace aprhost::core
