// SentencePiece BPE (tokenizer.ggml.model = "llama"): spaces become U+2581 ("▁"), a "▁" is prepended to each
// text run that starts the input or follows a special token, characters are merged greedily by the score of the
// token they would form, and characters the vocabulary lacks fall back to <0xNN> byte tokens (or <unk>).
#include "tokenizer_vocab.hpp"

#include <aprhost/core/error.hpp>

#include <array>
#include <cstdio>
#include <queue>

namespace aprhost::core {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// Replaces every occurrence of from by to.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    for (size_t at = s.find(from); at != std::string_view::npos; at = s.find(from, pos)) {
        out.append(s.data() + pos, at - pos);
        out += to;
        pos = at + from.size();
    }
    out.append(s.data() + pos, s.size() - pos);
    return out;
}

// "<0xAB>" -> 0xAB; -1 when text is not a byte token.
int parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    int v = 0;
    for (size_t i = 3; i < 5; ++i) {
        char c = t[i];
        int d = -1;
        if (c >= '0' && c <= '9') d = c - '0';
        if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

class SpmTokenizer final : public VocabTokenizer {
public:
    explicit SpmTokenizer(const Metadata& meta);

    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override;
    std::string token_to_piece(int32_t id, bool render_special) const override;
    const char* model_name() const override { return "llama (sentencepiece)"; }
    bool decode_strips_leading_space() const override { return add_space_prefix_; }

private:
    void encode_run(std::string_view text, std::vector<int32_t>& out) const;

    std::vector<float> scores_;
    std::vector<std::string> pieces_;  // bytes of NORMAL and BYTE tokens
    std::array<int32_t, 256> byte_token_{};
    bool add_space_prefix_ = true;
};

SpmTokenizer::SpmTokenizer(const Metadata& meta) {
    load_vocab(meta, true);
    add_space_prefix_ = meta.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);

    scores_ = meta.get_f32_array("tokenizer.ggml.scores");
    if (scores_.empty()) scores_.assign(tokens_.size(), 0.0f);  // llama.cpp treats missing scores as 0
    if (scores_.size() != tokens_.size())
        throw Error(ErrorKind::BAD_INPUT, "metadata key 'tokenizer.ggml.scores' has " + std::to_string(scores_.size()) +
                                              " entries for " + std::to_string(tokens_.size()) + " tokens");

    for (size_t b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned>(b));
        byte_token_[b] = find_token(name);
    }
    pieces_.resize(tokens_.size());
    for (size_t i = 0; i < tokens_.size(); ++i) {
        int byte = token_types_[i] == TOKEN_TYPE_BYTE ? parse_byte_token(tokens_[i]) : -1;
        pieces_[i] = byte >= 0 ? std::string(1, static_cast<char>(byte)) : replace_all(tokens_[i], kSpace, " ");
    }
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
    std::vector<int32_t> out;
    if (add_bos && add_bos_) out.push_back(bos_id_);
    // As llama.cpp does: the space prefix goes before the first text run and before every run that follows a
    // special token.
    bool after_special = true;
    std::string run;
    for (const TextFragment& f : partition(text, parse_special)) {
        if (f.token >= 0) {
            out.push_back(f.token);
            after_special = true;
            continue;
        }
        run.clear();
        if (add_space_prefix_ && after_special) run += kSpace;
        run += replace_all(f.text, " ", kSpace);
        encode_run(run, out);
        after_special = false;
    }
    return out;
}

// Symbols start as one per UTF-8 character (an invalid byte is a symbol of its own). A max-heap of adjacent
// pairs whose concatenation is a token, ordered by that token's score and then by position, drives the merges;
// stale heap entries are recognised by their recorded length.
void SpmTokenizer::encode_run(std::string_view text, std::vector<int32_t>& out) const {
    struct Symbol {
        uint32_t start;
        uint32_t len;  // 0 once merged into the left neighbour
        int32_t prev;
        int32_t next;
    };
    std::vector<Symbol> sym;
    for (size_t i = 0; i < text.size();) {
        size_t len = utf8_valid_length(text, i);
        if (len == 0) len = 1;
        int32_t idx = static_cast<int32_t>(sym.size());
        sym.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(len), idx - 1, -1});
        if (idx > 0) sym[size_t(idx - 1)].next = idx;
        i += len;
    }
    if (sym.empty()) return;

    struct Pair {
        float score;
        int32_t left;
        int32_t right;
        uint32_t len;
    };
    auto worse = [](const Pair& a, const Pair& b) { return a.score != b.score ? a.score < b.score : a.left > b.left; };
    std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> heap(worse);
    auto try_add = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        const Symbol& a = sym[size_t(l)];
        const Symbol& b = sym[size_t(r)];
        int32_t id = find_token(text.substr(a.start, a.len + b.len));  // neighbours are contiguous in text
        if (id >= 0) heap.push({scores_[size_t(id)], l, r, a.len + b.len});
    };
    for (size_t i = 0; i + 1 < sym.size(); ++i) try_add(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));

    while (!heap.empty()) {
        Pair p = heap.top();
        heap.pop();
        Symbol& l = sym[size_t(p.left)];
        Symbol& r = sym[size_t(p.right)];
        if (l.len == 0 || r.len == 0 || l.next != p.right || l.len + r.len != p.len) continue;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[size_t(r.next)].prev = p.left;
        try_add(l.prev, p.left);
        try_add(p.left, l.next);
    }

    // Every merged symbol is a token by construction; only single characters can be missing.
    for (int32_t i = 0; i >= 0; i = sym[size_t(i)].next) {
        std::string_view piece = text.substr(sym[size_t(i)].start, sym[size_t(i)].len);
        int32_t id = find_token(piece);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        bool all_bytes = true;
        for (char c : piece) all_bytes = all_bytes && byte_token_[static_cast<unsigned char>(c)] >= 0;
        if (all_bytes) {
            for (char c : piece) out.push_back(byte_token_[static_cast<unsigned char>(c)]);
        } else if (unk_id_ >= 0) {
            out.push_back(unk_id_);
        }
    }
}

std::string SpmTokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (!valid_id(id))
        throw Error(ErrorKind::BAD_INPUT,
                    "token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocab_size()));
    switch (token_type(id)) {
    case TOKEN_TYPE_CONTROL:
    case TOKEN_TYPE_UNKNOWN: return render_special ? tokens_[size_t(id)] : std::string();
    case TOKEN_TYPE_USER_DEFINED: return tokens_[size_t(id)];
    default: return pieces_[size_t(id)];
    }
}

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(const Metadata& meta) { return std::make_unique<SpmTokenizer>(meta); }

}  // namespace aprhost::core
