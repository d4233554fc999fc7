// Synthetic GGUF models. Nothing here quantises floats: a 7B file is ~4.7 GB, so quantised blocks are filled with
// random bytes and only their scale fields are overwritten with values that give the intended weight statistics.
#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/model_shapes.hpp>
#include <aprhost/core/synth_model.hpp>
#include <aprhost/reference/fp16.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <thread>

namespace aprhost::core {
namespace {

// ------------------------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------------------------

struct Resolved {
    std::string arch;
    const ModelShape* shape;
    aph_dtype quant;
    bool tied;
    bool biases;
};

Resolved resolve(const SynthOptions& opts) {
    if (opts.arch != "qwen2" && opts.arch != "llama")
        throw Error(ErrorKind::USAGE, fmt::format("synth: unknown architecture '{}' (expected qwen2 or llama)", opts.arch));
    const ModelShape* shape = find_model_shape(opts.shape);
    if (!shape)
        throw Error(ErrorKind::USAGE,
                    fmt::format("synth: unknown shape '{}' (expected tiny, 0.5b, 1.5b or 7b)", opts.shape));
    switch (opts.quant) {
        case APH_DTYPE_Q4_K:
        case APH_DTYPE_Q4_0:
        case APH_DTYPE_Q8_0:
        case APH_DTYPE_F16: break;
        default:
            throw Error(ErrorKind::USAGE, fmt::format("synth: unsupported quantisation '{}' (expected q4_k, q4_0, "
                                                      "q8_0 or f16)", dtype_name(opts.quant)));
    }
    bool tied = shape->tied_embeddings;
    if (std::string_view(shape->name) == "tiny") tied = opts.arch == "qwen2";
    if (opts.tied_embeddings) tied = *opts.tied_embeddings;
    return {opts.arch, shape, opts.quant, tied, opts.arch == "qwen2"};
}

// ------------------------------------------------------------------------------------------------------------
// Tensor plan
// ------------------------------------------------------------------------------------------------------------

constexpr float kNormNoise = 0.05f;  // norms: 1 ± 0.05
constexpr float kBiasRange = 0.05f;  // biases: uniform in ±0.05 (std ≈ 0.029), small next to O(1) projections

}  // namespace

std::vector<SynthTensorPlan> plan_synthetic_model(const SynthOptions& opts) {
    const Resolved r = resolve(opts);
    const ModelShape& s = *r.shape;
    const int64_t hd = s.head_dim();
    const int64_t q_out = s.heads * hd;
    const int64_t kv_out = s.kv_heads * hd;
    std::vector<SynthTensorPlan> plan;

    auto add = [&](std::string name, TensorRole role, int64_t layer, std::vector<int64_t> ne) {
        aph_dtype t = quant_mix_type(r.quant, role, layer, s.layers, ne[0]);
        SynthInit init = role == TensorRole::NORM ? SynthInit::NORM
                         : role == TensorRole::BIAS ? SynthInit::BIAS
                                                    : SynthInit::WEIGHT;
        float scale = init == SynthInit::NORM   ? kNormNoise
                      : init == SynthInit::BIAS ? kBiasRange
                                                : static_cast<float>(1.0 / std::sqrt(static_cast<double>(ne[0])));
        uint64_t bytes = *dtype_row_bytes(t, ne[0]);
        for (size_t i = 1; i < ne.size(); ++i) bytes *= static_cast<uint64_t>(ne[i]);
        plan.push_back({std::move(name), t, std::move(ne), init, scale, bytes});
    };

    // Tied: token_embd doubles as the output head, and llama-quantize types it as the output.
    add("token_embd.weight", r.tied ? TensorRole::OUTPUT : TensorRole::TOKEN_EMBD, 0, {s.hidden, s.vocab});
    for (int64_t l = 0; l < s.layers; ++l) {
        auto n = [l](const char* what) { return fmt::format("blk.{}.{}", l, what); };
        add(n("attn_norm.weight"), TensorRole::NORM, l, {s.hidden});
        add(n("attn_q.weight"), TensorRole::ATTN_Q, l, {s.hidden, q_out});
        if (r.biases) add(n("attn_q.bias"), TensorRole::BIAS, l, {q_out});
        add(n("attn_k.weight"), TensorRole::ATTN_K, l, {s.hidden, kv_out});
        if (r.biases) add(n("attn_k.bias"), TensorRole::BIAS, l, {kv_out});
        add(n("attn_v.weight"), TensorRole::ATTN_V, l, {s.hidden, kv_out});
        if (r.biases) add(n("attn_v.bias"), TensorRole::BIAS, l, {kv_out});
        add(n("attn_output.weight"), TensorRole::ATTN_OUTPUT, l, {q_out, s.hidden});
        add(n("ffn_norm.weight"), TensorRole::NORM, l, {s.hidden});
        add(n("ffn_gate.weight"), TensorRole::FFN_GATE, l, {s.hidden, s.ffn});
        add(n("ffn_up.weight"), TensorRole::FFN_UP, l, {s.hidden, s.ffn});
        add(n("ffn_down.weight"), TensorRole::FFN_DOWN, l, {s.ffn, s.hidden});
    }
    add("output_norm.weight", TensorRole::NORM, 0, {s.hidden});
    if (!r.tied) add("output.weight", TensorRole::OUTPUT, 0, {s.hidden, s.vocab});
    return plan;
}

namespace {

// ------------------------------------------------------------------------------------------------------------
// Tokenizer: byte-level BPE (GPT-2 byte↔unicode map), a few hundred English merges, filler, ChatML specials
// ------------------------------------------------------------------------------------------------------------

// GPT-2's reversible byte → code point map: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order, so every byte is a visible character (space = 'Ġ', newline = 'Ċ').
std::array<char32_t, 256> byte_to_codepoint() {
    std::array<char32_t, 256> map{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        map[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return map;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Words whose byte-level spelling becomes a single token (' ' is written as-is and mapped to 'Ġ' below).
// Common English words, suffixes, whitespace runs for code and chat punctuation.
constexpr const char* kWords[] = {
    " the", " a", " and", " of", " to", " in", " is", " it", " that", " for", " you", " was", " with", " on",
    " as", " have", " be", " at", " not", " this", " are", " by", " from", " or", " he", " she", " we", " they",
    " his", " her", " an", " will", " can", " all", " there", " what", " which", " one", " would", " their",
    " about", " if", " up", " out", " so", " said", " time", " people", " model", " hello", " world", " The",
    " I", " In", " It", " This", " cat", " dog", " sat", " mat", " quick", " brown", " fox", " jumps", " over",
    " lazy", " day", " year", " good", " new", " first", " last", " long", " great", " little", " own",
    " other", " old", " right", " big", " high", " different", " small", " large", " next", " early", " young",
    " important", " few", " public", " bad", " same", " able", " code", " data", " function", " return",
    " int", " void", " class", " def", " import", " value", " number", " name", " question",
    " answer", " help", " assistant", " user", " system", " language", " text", " write", " story",
    "Hello", "The", "What", "How", "Once", " upon", " once", " Paris", " capital", " France",
    "the", "ing", "er", "ed", "es", "ly", "ion", "tion", "ation", "ment", "ness", "able", "in", "on", "re",
    "'s", "'t", "'re", "'ll", "'ve", "  ", "    ", "        ", "\n\n", "\n", ".\n", ",", " (", "()", ");",
    " {", " }", " =", " ==", " +", " -", " *", " //", "...", " \"",
};

struct Vocab {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<std::string> merges;
    int32_t endoftext = 0, im_start = 0, im_end = 0;
};

// Byte-level BPE of one word with the merges so far (rank = position): repeatedly merge the adjacent pair of
// lowest rank, as the tokenizer will.
std::vector<std::string> bpe(const std::vector<std::string>& symbols,
                             const std::map<std::pair<std::string, std::string>, size_t>& ranks) {
    std::vector<std::string> parts = symbols;
    while (parts.size() > 1) {
        size_t best = SIZE_MAX, at = 0;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
            auto it = ranks.find({parts[i], parts[i + 1]});
            if (it != ranks.end() && it->second < best) {
                best = it->second;
                at = i;
            }
        }
        if (best == SIZE_MAX) break;
        parts[at] += parts[at + 1];
        parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    }
    return parts;
}

Vocab build_vocab(int64_t vocab_size) {
    Vocab v;
    const auto b2u = byte_to_codepoint();
    std::set<std::string> known;
    for (int b = 0; b < 256; ++b) {
        std::string t;
        append_utf8(t, b2u[static_cast<size_t>(b)]);
        v.tokens.push_back(t);
        known.insert(t);
    }
    // For each word: BPE it with the merges so far and add a merge for its leftmost remaining pair until it is
    // one token. A merge added later has a lower rank, so words finished earlier keep their single token.
    std::map<std::pair<std::string, std::string>, size_t> ranks;
    for (const char* word : kWords) {
        std::vector<std::string> symbols;
        for (const char* p = word; *p; ++p) {
            std::string s;
            append_utf8(s, b2u[static_cast<unsigned char>(*p)]);
            symbols.push_back(s);
        }
        for (;;) {
            auto parts = bpe(symbols, ranks);
            if (parts.size() <= 1) break;
            std::string merged = parts[0] + parts[1];
            ranks[{parts[0], parts[1]}] = v.merges.size();
            v.merges.push_back(parts[0] + " " + parts[1]);
            if (known.insert(merged).second) v.tokens.push_back(merged);
        }
    }
    const int64_t n_special = 3;
    if (static_cast<int64_t>(v.tokens.size()) + n_special > vocab_size)
        throw Error(ErrorKind::USAGE, fmt::format("synth: vocabulary of {} is too small", vocab_size));
    v.types.assign(v.tokens.size(), 1);
    // Filler: '<' and '>' never take part in a merge, so these are unreachable by BPE (as the unused tail of a
    // real vocabulary is) and cannot collide with merge results.
    while (static_cast<int64_t>(v.tokens.size()) < vocab_size - n_special) {
        v.tokens.push_back(fmt::format("<synth_{}>", v.tokens.size()));
        v.types.push_back(1);
    }
    v.endoftext = static_cast<int32_t>(v.tokens.size());
    for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
        v.tokens.emplace_back(special);
        v.types.push_back(3);  // control
    }
    v.im_start = v.endoftext + 1;
    v.im_end = v.endoftext + 2;
    return v;
}

// A ChatML template in the style of Qwen2.5's (default system prompt when the conversation has none).
constexpr const char* kChatTemplate =
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message.role == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

}  // namespace

Metadata synthetic_model_metadata(const SynthOptions& opts) {
    const Resolved r = resolve(opts);
    const ModelShape& s = *r.shape;
    const std::string& a = r.arch;
    Metadata m;
    m.set_string("general.architecture", a);
    m.set_string("general.name", fmt::format("synthetic {} {} {} seed {}", a, s.name, quant_mix_name(r.quant),
                                             opts.seed));
    m.set_u32("general.file_type", quant_file_type(r.quant));
    m.set_u32("general.quantization_version", 2);
    m.set_u32("general.alignment", 32);
    m.set_u32(a + ".context_length", static_cast<uint32_t>(s.context_length));
    m.set_u32(a + ".embedding_length", static_cast<uint32_t>(s.hidden));
    m.set_u32(a + ".block_count", static_cast<uint32_t>(s.layers));
    m.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.ffn));
    m.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.heads));
    m.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.kv_heads));
    m.set_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
    m.set_f32(a + ".rope.freq_base", s.rope_freq_base);
    m.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(s.head_dim()));
    m.set_u32(a + ".vocab_size", static_cast<uint32_t>(s.vocab));

    Vocab v = build_vocab(s.vocab);
    m.set_string("tokenizer.ggml.model", "gpt2");
    m.set_string("tokenizer.ggml.pre", "qwen2");
    m.set_string_array("tokenizer.ggml.tokens", std::move(v.tokens));
    m.set_i32_array("tokenizer.ggml.token_type", std::move(v.types));
    m.set_string_array("tokenizer.ggml.merges", std::move(v.merges));
    m.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.endoftext));
    m.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.im_end));
    m.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(v.endoftext));
    m.set_bool("tokenizer.ggml.add_bos_token", false);
    m.set_string("tokenizer.chat_template", kChatTemplate);
    return m;
}

namespace {

// ------------------------------------------------------------------------------------------------------------
// Random numbers
// ------------------------------------------------------------------------------------------------------------

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// xoshiro256**: fast, good enough statistically for weights, trivially seeded per chunk.
class Xoshiro {
public:
    explicit Xoshiro(uint64_t seed) {
        for (auto& w : s_) w = splitmix64(seed);
    }
    uint64_t next() {
        const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = std::rotl(s_[3], 45);
        return result;
    }
    void fill(uint8_t* dst, size_t n) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t r = next();
            std::memcpy(dst + i, &r, 8);
        }
        if (i < n) {
            uint64_t r = next();
            std::memcpy(dst + i, &r, n - i);
        }
    }
    // Uniform in [0, 1) from 24 bits.
    float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }
    // Approximately standard normal: sum of four uniforms (Irwin–Hall, variance 4/12) recentred and scaled.
    float gaussian() {
        uint64_t r = next();
        float sum = 0.0f;
        for (int k = 0; k < 4; ++k) sum += (static_cast<float>((r >> (16 * k)) & 0xFFFF) + 0.5f) * 0x1.0p-16f;
        return (sum - 2.0f) * 1.7320508f;  // sqrt(3)
    }

private:
    uint64_t s_[4];
};

// One independent stream per (seed, tensor, chunk), so chunks can be generated in any order, on any thread.
uint64_t stream_seed(uint64_t seed, uint64_t tensor_index, uint64_t chunk) {
    uint64_t s = seed;
    uint64_t a = splitmix64(s);
    s = a ^ (tensor_index * 0xD1B54A32D192ED03ull);
    uint64_t b = splitmix64(s);
    s = b ^ (chunk * 0x8CB92BA72F3D8DD7ull);
    return splitmix64(s);
}

uint16_t f32_to_f16(float f) { return ref::fp32_to_fp16(f); }

void put_f16(uint8_t* dst, float v) {
    const uint16_t h = f32_to_f16(v);
    std::memcpy(dst, &h, 2);
}

// ------------------------------------------------------------------------------------------------------------
// Quantised blocks with chosen statistics
// ------------------------------------------------------------------------------------------------------------
//
// Target: each dequantised weight x has E[x] ≈ 0 and E[x²] = σ², σ = 1/sqrt(in_features), so y = W·a keeps
// E[y_i²] ≈ |a|²/in = mean(a²): rms-normed activations stay O(1) through every layer.
//
// The random bytes make every quant index uniform over its range, independent of the others; the scale fields
// we write are the only other factors, so E[x²] = d² · E[s²] · E[v²] with v the centred quant value and s the
// sub-block scale (1 for the 32-element types). Per type (sums over the uniform ranges):
//   Q8_0  x = d·q,  q ∈ [-128, 127]:     E[q²] = (2·Σ_{1..127} k² + 128²)/256 = 1398144/256 = 5461.5
//   Q4_0  x = d·(q−8),  q ∈ [0, 15]:      E[v²] = (2·Σ_{1..7} k² + 8²)/16 = 344/16 = 21.5
//   Q5_0  x = d·(q−16), q ∈ [0, 31]:      E[v²] = (2·Σ_{1..15} k² + 16²)/32 = 2736/32 = 85.5
//   These three have E[v] = −1/2 (one more negative value than positive): a random sign on d per block makes
//   the weights zero-mean without changing E[x²].
//   Q4_K  x = d·sc·q − dmin·m, q ∈ [0, 15], 6-bit sc/m per 32. We write m = sc and dmin = 7.5·d, so
//         x = d·sc·(q − 7.5): zero-mean in every sub-block (like a real Q4_K block, symmetric around 0), and
//         sc uniform in [32, 63] (real scales sit near the top of their range):
//         E[sc²] = Var + mean² = (32²−1)/12 + 47.5² = 2341.5;  E[(q−7.5)²] = (16²−1)/12 = 21.25
//         → E[x²] = d² · 49756.875.
//   Q6_K  x = d·sc·(q−32), q ∈ [0, 63], i8 sc per 16. We write sc = ±(64..127), random sign:
//         E[sc²] = (64²−1)/12 + 95.5² = 9461.5;  E[(q−32)²] = (2·Σ_{1..31} k² + 32²)/64 = 21856/64 = 341.5
//         → E[x²] = d² · 3231102.25.
// Hence d = σ / sqrt(factor). Small σ can make d an f16 subnormal (Q6_K of 7B's ffn_down: d ≈ 4e-6), which
// rounds d by up to a few per cent — real Q6_K files have d values of the same size.

constexpr double kQ8_0Factor = 5461.5;
constexpr double kQ4_0Factor = 21.5;
constexpr double kQ5_0Factor = 85.5;
constexpr double kQ4_KFactor = 2341.5 * 21.25;
constexpr double kQ6_KFactor = 9461.5 * 341.5;

// Q4_0 / Q5_0 / Q8_0: random payload, f16 d with a random sign in the first two bytes.
void fill_q_legacy(uint8_t* dst, size_t n_blocks, size_t block_bytes, float d, Xoshiro& rng) {
    rng.fill(dst, n_blocks * block_bytes);
    const uint16_t pos = f32_to_f16(d), neg = f32_to_f16(-d);
    uint64_t signs = 0;
    for (size_t b = 0; b < n_blocks; ++b) {
        if (b % 64 == 0) signs = rng.next();
        const uint16_t h = (signs >> (b % 64)) & 1 ? neg : pos;
        std::memcpy(dst + b * block_bytes, &h, 2);
    }
}

// Q4_K's 12 scale bytes: sub-blocks 0..3 keep their 6-bit scale/min in the low bits of bytes 0..3 / 4..7;
// sub-blocks 4..7 put their low 4 bits in bytes 8..11 (scale low nibble, min high nibble) and their top 2 bits
// in the top bits of bytes 0..3 (scale) / 4..7 (min).
void pack_q4_k_scales(uint8_t* out, const uint8_t sc[8], const uint8_t mn[8]) {
    for (int j = 0; j < 4; ++j) {
        out[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        out[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
        out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
}

// block_q4_K: f16 d, f16 dmin, 12 bytes scales, 128 bytes nibbles.
void fill_q4_k(uint8_t* dst, size_t n_blocks, float d, Xoshiro& rng) {
    constexpr size_t kBytes = 144;
    rng.fill(dst, n_blocks * kBytes);
    const uint16_t dh = f32_to_f16(d), mh = f32_to_f16(7.5f * d);
    for (size_t b = 0; b < n_blocks; ++b) {
        uint8_t* blk = dst + b * kBytes;
        std::memcpy(blk, &dh, 2);
        std::memcpy(blk + 2, &mh, 2);
        uint64_t r = rng.next();
        uint8_t sc[8];
        for (int j = 0; j < 8; ++j) sc[j] = static_cast<uint8_t>(32 + ((r >> (5 * j)) & 31));
        pack_q4_k_scales(blk + 4, sc, sc);
    }
}

// block_q6_K: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 × i8 scales, f16 d.
void fill_q6_k(uint8_t* dst, size_t n_blocks, float d, Xoshiro& rng) {
    constexpr size_t kBytes = 210;
    rng.fill(dst, n_blocks * kBytes);
    const uint16_t dh = f32_to_f16(d);
    for (size_t b = 0; b < n_blocks; ++b) {
        uint8_t* blk = dst + b * kBytes;
        for (int half = 0; half < 2; ++half) {
            uint64_t r = rng.next();
            for (int j = 0; j < 8; ++j) {
                uint64_t bits = r >> (8 * j);
                int mag = 64 + static_cast<int>(bits & 63);
                int8_t sc = static_cast<int8_t>((bits & 0x80) ? -mag : mag);
                std::memcpy(blk + 192 + half * 8 + j, &sc, 1);
            }
        }
        std::memcpy(blk + 208, &dh, 2);
    }
}

float element_value(const SynthTensorPlan& plan, Xoshiro& rng) {
    switch (plan.init) {
        case SynthInit::WEIGHT: return plan.scale * rng.gaussian();
        case SynthInit::NORM: return 1.0f + plan.scale * (2.0f * rng.uniform() - 1.0f);
        case SynthInit::BIAS: return plan.scale * (2.0f * rng.uniform() - 1.0f);
    }
    return 0.0f;
}

// Fills blocks [first, first + n) of the tensor from one random stream.
void fill_range(const SynthTensorPlan& plan, const DtypeTraits& tr, uint8_t* dst, size_t n, Xoshiro& rng) {
    const double sigma = plan.scale;
    switch (plan.dtype) {
        case APH_DTYPE_F32:
            for (size_t i = 0; i < n; ++i) {
                float v = element_value(plan, rng);
                std::memcpy(dst + 4 * i, &v, 4);
            }
            return;
        case APH_DTYPE_F16:
            for (size_t i = 0; i < n; ++i) put_f16(dst + 2 * i, element_value(plan, rng));
            return;
        case APH_DTYPE_Q8_0:
            return fill_q_legacy(dst, n, tr.block_bytes, static_cast<float>(sigma / std::sqrt(kQ8_0Factor)), rng);
        case APH_DTYPE_Q4_0:
            return fill_q_legacy(dst, n, tr.block_bytes, static_cast<float>(sigma / std::sqrt(kQ4_0Factor)), rng);
        case APH_DTYPE_Q5_0:
            return fill_q_legacy(dst, n, tr.block_bytes, static_cast<float>(sigma / std::sqrt(kQ5_0Factor)), rng);
        case APH_DTYPE_Q4_K: return fill_q4_k(dst, n, static_cast<float>(sigma / std::sqrt(kQ4_KFactor)), rng);
        case APH_DTYPE_Q6_K: return fill_q6_k(dst, n, static_cast<float>(sigma / std::sqrt(kQ6_KFactor)), rng);
        default: break;
    }
    throw Error(ErrorKind::USAGE, fmt::format("synth: no generator for type {}", dtype_name(plan.dtype)));
}

}  // namespace

void fill_synthetic_tensor(const SynthTensorPlan& plan, uint64_t seed, uint64_t tensor_index,
                           std::span<uint8_t> out) {
    auto tr = dtype_traits(plan.dtype);
    if (!tr || out.size() != plan.bytes || plan.bytes % tr->block_bytes != 0)
        throw Error(ErrorKind::USAGE, fmt::format("synth: bad output buffer for {}", plan.name));
    if (plan.init != SynthInit::WEIGHT && tr->block_elems != 1)
        throw Error(ErrorKind::USAGE, fmt::format("synth: {} must be a plain float type", plan.name));
    // Checked here, not in the worker threads, where an exception would terminate the process.
    switch (plan.dtype) {
        case APH_DTYPE_F32:
        case APH_DTYPE_F16:
        case APH_DTYPE_Q8_0:
        case APH_DTYPE_Q4_0:
        case APH_DTYPE_Q5_0:
        case APH_DTYPE_Q4_K:
        case APH_DTYPE_Q6_K: break;
        default: throw Error(ErrorKind::USAGE, fmt::format("synth: no generator for type {}", tr->name));
    }

    // Fixed-size chunks (≈1 MiB), each with its own stream: the bytes do not depend on the thread count.
    const size_t n_blocks = plan.bytes / tr->block_bytes;
    const size_t chunk_blocks = std::max<size_t>(1, (size_t{1} << 20) / tr->block_bytes);
    const size_t n_chunks = (n_blocks + chunk_blocks - 1) / chunk_blocks;
    auto do_chunk = [&](size_t c) {
        Xoshiro rng(stream_seed(seed, tensor_index, c));
        const size_t first = c * chunk_blocks;
        const size_t n = std::min(chunk_blocks, n_blocks - first);
        fill_range(plan, *tr, out.data() + first * tr->block_bytes, n, rng);
    };
    const size_t n_threads =
        std::min<size_t>({n_chunks, std::max(1u, std::thread::hardware_concurrency()), size_t{8}});
    if (n_threads <= 1) {
        for (size_t c = 0; c < n_chunks; ++c) do_chunk(c);
        return;
    }
    std::vector<std::thread> pool;
    for (size_t t = 0; t < n_threads; ++t) {
        pool.emplace_back([&, t] {
            for (size_t c = t; c < n_chunks; c += n_threads) do_chunk(c);
        });
    }
    for (auto& th : pool) th.join();
}

void write_synthetic_model(const SynthOptions& opts, const std::string& path, const GgufWriter::Progress& progress) {
    auto plan = plan_synthetic_model(opts);
    GgufWriter writer(synthetic_model_metadata(opts), 32);
    for (size_t i = 0; i < plan.size(); ++i) {
        const SynthTensorPlan& p = plan[i];
        writer.add_tensor(p.name, p.dtype, p.ne, [p, seed = opts.seed, i](std::span<uint8_t> out) {
            fill_synthetic_tensor(p, seed, i, out);
        });
    }
    writer.write(path, progress);
}

}  // namespace aprhost::core
