// Regex pre-tokenizers of byte-level BPE models. The patterns are the published splitting rules of each model
// family's tokenizer (GPT-2, Qwen2, Llama 3, SmolLM); PCRE2 runs them with UTF + UCP so \p{L}/\p{N} are Unicode
// categories, and with MATCH_INVALID_UTF so broken UTF-8 input is split instead of rejected.
#include "pretokenizer.hpp"

#include <aprhost/core/error.hpp>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

namespace aprhost::core {
namespace {

// GPT-2: contractions, optional space + letters / digits / other symbols, whitespace not followed by a
// non-space (so "a  b" keeps the last space with "b"), then any whitespace.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Qwen2 and Llama 3 share the shape (case-insensitive contractions, one leading non-letter glued to a word,
// newlines kept with the punctuation before them); they differ only in how many digits form one chunk.
// The contractions are spelled with ASCII classes rather than (?i) because Unicode case folding would also
// let "'ſ" (long s) match.
constexpr const char* kQwen2Pattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Pattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// SmolLM (like StarCoder): every digit is isolated first, then the GPT-2 rules run inside the pieces.
constexpr const char* kDigitPattern = R"(\p{N})";

}  // namespace

struct PreTokenizer::Regex {
    pcre2_code* code = nullptr;
    ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(std::string_view pre_name) {
    std::vector<const char*> patterns;
    if (pre_name == "default" || pre_name == "gpt2" || pre_name == "gpt-2") {
        name_ = "gpt2";
        patterns = {kGpt2Pattern};
    } else if (pre_name == "qwen2" || pre_name == "deepseek-r1-qwen") {
        name_ = "qwen2";
        patterns = {kQwen2Pattern};
    } else if (pre_name == "llama-bpe" || pre_name == "llama3" || pre_name == "llama-v3") {
        name_ = "llama3";
        patterns = {kLlama3Pattern};
        ignore_merges_ = true;
    } else if (pre_name == "smollm" || pre_name == "starcoder" || pre_name == "refact") {
        name_ = "smollm";
        patterns = {kDigitPattern, kGpt2Pattern};
    } else {
        throw Error(ErrorKind::BAD_INPUT,
                    "unsupported tokenizer.ggml.pre '" + std::string(pre_name) +
                        "' (known: default, gpt2, gpt-2, qwen2, deepseek-r1-qwen, llama-bpe, llama3, llama-v3, "
                        "smollm, starcoder, refact)");
    }
    for (const char* p : patterns) {
        // Under UCP, \s is Unicode space separators plus horizontal/vertical space (so NEL, U+0085, counts),
        // which is the White_Space set the reference tokenizers use.
        std::string_view pattern = p;
        int err = 0;
        PCRE2_SIZE err_offset = 0;
        auto rx = std::make_unique<Regex>();
        rx->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_offset, nullptr);
        if (!rx->code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            throw Error(ErrorKind::BAD_INPUT, "pre-tokenizer '" + name_ + "': regex does not compile at offset " +
                                                  std::to_string(err_offset) + ": " +
                                                  reinterpret_cast<const char*>(msg));
        }
        // JIT is an optimisation only: when it is unavailable pcre2_match falls back to the interpreter.
        (void)pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE);
        regexes_.push_back(std::move(rx));
    }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

namespace {

// Per-call matching state (match data is not shareable between threads). A JIT stack is only created when
// the default 32 KiB one overflows on a pathological input.
class Matcher {
public:
    explicit Matcher(const pcre2_code* code) : code_(code), md_(pcre2_match_data_create_from_pattern(code, nullptr)) {
        if (!md_) throw Error(ErrorKind::RESOURCE, "pre-tokenizer: out of memory");
    }
    ~Matcher() {
        pcre2_match_data_free(md_);
        pcre2_match_context_free(ctx_);
        pcre2_jit_stack_free(stack_);
    }
    Matcher(const Matcher&) = delete;
    Matcher& operator=(const Matcher&) = delete;

    // Finds the next match in subject at or after start; false when there is none.
    bool next(std::string_view subject, size_t start, size_t& m_begin, size_t& m_end) {
        for (;;) {
            int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), start, 0,
                                 md_, ctx_);
            if (rc == PCRE2_ERROR_NOMATCH) return false;
            if (rc == PCRE2_ERROR_JIT_STACKLIMIT && grow_stack()) continue;
            if (rc < 0) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(rc, msg, sizeof msg);
                throw Error(ErrorKind::BAD_INPUT,
                            std::string("pre-tokenizer: regex match failed: ") + reinterpret_cast<const char*>(msg));
            }
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md_);
            m_begin = ov[0];
            m_end = ov[1];
            return true;
        }
    }

private:
    bool grow_stack() {
        size_t want = stack_size_ == 0 ? size_t(1) << 20 : stack_size_ * 8;
        if (want > (size_t(64) << 20)) return false;
        if (!ctx_) ctx_ = pcre2_match_context_create(nullptr);
        pcre2_jit_stack_free(stack_);
        stack_ = pcre2_jit_stack_create(32 * 1024, want, nullptr);
        if (!ctx_ || !stack_) return false;
        pcre2_jit_stack_assign(ctx_, nullptr, stack_);
        stack_size_ = want;
        return true;
    }

    const pcre2_code* code_;
    pcre2_match_data* md_;
    pcre2_match_context* ctx_ = nullptr;
    pcre2_jit_stack* stack_ = nullptr;
    size_t stack_size_ = 0;
};

// Splits one chunk into matches and gaps, appending them to out.
void split_chunk(Matcher& m, std::string_view chunk, std::vector<std::string_view>& out) {
    size_t pos = 0;
    size_t b = 0, e = 0;
    while (pos < chunk.size() && m.next(chunk, pos, b, e)) {
        if (b > pos) out.push_back(chunk.substr(pos, b - pos));
        if (e == b) {
            // None of the presets can match empty; guard anyway by moving one byte on (gap continues).
            e = b + 1;
            out.push_back(chunk.substr(b, 1));
        } else {
            out.push_back(chunk.substr(b, e - b));
        }
        pos = e;
    }
    if (pos < chunk.size()) out.push_back(chunk.substr(pos));
}

}  // namespace

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
    if (text.empty()) return;
    std::vector<std::string_view> current{text};
    std::vector<std::string_view> next;
    for (size_t r = 0; r < regexes_.size(); ++r) {
        Matcher m(regexes_[r]->code);
        std::vector<std::string_view>& dst = (r + 1 == regexes_.size()) ? out : next;
        for (std::string_view chunk : current) split_chunk(m, chunk, dst);
        if (&dst == &next) {
            current.swap(next);
            next.clear();
        }
    }
}

}  // namespace aprhost::core
