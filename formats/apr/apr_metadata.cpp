// APR metadata translation. Why a depth pre-scan: nlohmann's parser recurses per nesting level, so a hostile
// "[[[[...]]]]" could exhaust the stack before any type check runs; the metadata is a flat object, so anything
// deeper than a few levels is refused before parsing.
#include "apr_metadata.h"

#include "apr_parser.h"

#include <aprhost/plugin.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>

namespace aprhost::apr {
namespace {

using sdk::Error;
using json = nlohmann::json;

[[noreturn]] void fail(const std::string& msg) { throw Error(APH_STATUS_BAD_FORMAT, "APR: metadata " + msg); }

constexpr int kMaxDepth = 4;

void check_depth(std::string_view s) {
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
            continue;
        }
        if (c == '"') in_str = true;
        else if (c == '{' || c == '[') {
            if (++depth > kMaxDepth) fail("JSON nests deeper than " + std::to_string(kMaxDepth) + " levels (offset " +
                                          std::to_string(i) + ")");
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
}

struct Alias {
    const char* suffix;  // GGUF key after "{arch}."
    std::vector<const char*> names;
    bool is_float;
};

const std::vector<Alias>& config_aliases() {
    static const std::vector<Alias> a = {
        {"embedding_length", {"hidden_size", "hidden_dim", "n_embd"}, false},
        {"block_count", {"num_layers", "num_hidden_layers", "n_layer"}, false},
        {"attention.head_count", {"num_heads", "num_attention_heads", "n_head"}, false},
        {"attention.head_count_kv", {"num_kv_heads", "num_key_value_heads", "n_head_kv"}, false},
        {"vocab_size", {"vocab_size"}, false},
        {"feed_forward_length", {"intermediate_size", "n_ff"}, false},
        {"context_length", {"max_position_embeddings", "context_length"}, false},
        {"attention.key_length", {"head_dim"}, false},
        {"rope.freq_base", {"rope_theta"}, true},
        {"attention.layer_norm_rms_epsilon", {"rms_norm_eps"}, true},
    };
    return a;
}

// Literal tokenizer keys with a fixed GGUF name and type.
struct TokKey {
    const char* apr;
    const char* gguf;
    uint32_t type;       // scalar type, or ARRAY
    uint32_t elem_type;  // for arrays
};
const TokKey kTokKeys[] = {
    {"tokenizer.vocabulary", "tokenizer.ggml.tokens", APH_VALUE_ARRAY, APH_VALUE_STRING},
    {"tokenizer.merges", "tokenizer.ggml.merges", APH_VALUE_ARRAY, APH_VALUE_STRING},
    {"tokenizer.scores", "tokenizer.ggml.scores", APH_VALUE_ARRAY, APH_VALUE_F32},
    {"tokenizer.token_type", "tokenizer.ggml.token_type", APH_VALUE_ARRAY, APH_VALUE_I32},
    {"tokenizer.bos_token_id", "tokenizer.ggml.bos_token_id", APH_VALUE_U32, 0},
    {"tokenizer.eos_token_id", "tokenizer.ggml.eos_token_id", APH_VALUE_U32, 0},
    {"tokenizer.model", "tokenizer.ggml.model", APH_VALUE_STRING, 0},
    {"chat_template", "tokenizer.chat_template", APH_VALUE_STRING, 0},
};

bool parse_type_name(std::string_view s, uint32_t& type, uint32_t& elem) {
    static const char* const names[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    auto find = [&](std::string_view n, uint32_t& out) {
        for (uint32_t i = 0; i < 13; ++i)
            if (n == names[i] && i != APH_VALUE_ARRAY) return out = i, true;
        return false;
    };
    if (s.substr(0, 6) == "array:") {
        type = APH_VALUE_ARRAY;
        return find(s.substr(6), elem);
    }
    elem = 0;
    return find(s, type);
}

template <typename T>
void push_le(std::vector<uint8_t>& out, T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
}

uint32_t f32_bits(double d) {
    float f = static_cast<float>(d);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// Integer value of j for a key of integer type t; refuses non-integers and out-of-range values.
uint64_t int_bits(const json& j, uint32_t t, const std::string& key) {
    if (t == APH_VALUE_BOOL) {
        if (j.is_boolean()) return j.get<bool>() ? 1 : 0;
        if (j.is_number_integer() && (j.get<int64_t>() == 0 || j.get<int64_t>() == 1)) return uint64_t(j.get<int64_t>());
        fail("key '" + key + "' must be a bool");
    }
    if (!j.is_number_integer()) fail("key '" + key + "' must be an integer, got " + std::string(j.type_name()));
    const bool is_unsigned = t == APH_VALUE_U8 || t == APH_VALUE_U16 || t == APH_VALUE_U32 || t == APH_VALUE_U64;
    if (is_unsigned) {
        if (j.is_number_integer() && !j.is_number_unsigned() && j.get<int64_t>() < 0)
            fail("key '" + key + "' must be non-negative");
        uint64_t v = j.get<uint64_t>();
        uint64_t max = t == APH_VALUE_U8 ? 0xff : t == APH_VALUE_U16 ? 0xffff : t == APH_VALUE_U32 ? 0xffffffffull : ~0ull;
        if (v > max) fail("key '" + key + "' value " + std::to_string(v) + " is out of range");
        return v;
    }
    if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("key '" + key + "' value is out of range");
    int64_t v = j.get<int64_t>();
    int64_t lo = t == APH_VALUE_I8 ? -128 : t == APH_VALUE_I16 ? -32768 : t == APH_VALUE_I32 ? INT32_MIN : INT64_MIN;
    int64_t hi = t == APH_VALUE_I8 ? 127 : t == APH_VALUE_I16 ? 32767 : t == APH_VALUE_I32 ? INT32_MAX : INT64_MAX;
    if (v < lo || v > hi) fail("key '" + key + "' value " + std::to_string(v) + " is out of range");
    return static_cast<uint64_t>(v);
}

size_t width(uint32_t t) {
    switch (t) {
    case APH_VALUE_U8: case APH_VALUE_I8: case APH_VALUE_BOOL: return 1;
    case APH_VALUE_U16: case APH_VALUE_I16: return 2;
    case APH_VALUE_U32: case APH_VALUE_I32: case APH_VALUE_F32: return 4;
    default: return 8;
    }
}

// Builds an entry of an explicit type from a JSON value.
OwnedEntry make_entry(const std::string& key, const json& j, uint32_t type, uint32_t elem) {
    OwnedEntry e;
    e.key = key;
    e.type = type;
    e.elem_type = elem;
    switch (type) {
    case APH_VALUE_STRING:
        if (!j.is_string()) fail("key '" + key + "' must be a string, got " + std::string(j.type_name()));
        e.str = j.get<std::string>();
        return e;
    case APH_VALUE_F32:
    case APH_VALUE_F64: {
        if (!j.is_number()) fail("key '" + key + "' must be a number, got " + std::string(j.type_name()));
        double d = j.get<double>();
        if (type == APH_VALUE_F32) e.scalar = f32_bits(d);
        else std::memcpy(&e.scalar, &d, 8);
        return e;
    }
    case APH_VALUE_ARRAY: break;
    default: e.scalar = int_bits(j, type, key); return e;
    }
    if (!j.is_array()) fail("key '" + key + "' must be an array, got " + std::string(j.type_name()));
    e.count = j.size();
    if (elem == APH_VALUE_STRING) {
        e.strings.reserve(j.size());
        for (const auto& x : j) {
            if (!x.is_string()) fail("key '" + key + "' must be an array of strings");
            e.strings.push_back(x.get<std::string>());
        }
        return e;
    }
    if (elem == APH_VALUE_ARRAY) fail("key '" + key + "' is an array of arrays");
    e.data.reserve(j.size() * width(elem));
    for (const auto& x : j) {
        if (elem == APH_VALUE_F32) {
            if (!x.is_number()) fail("key '" + key + "' must be an array of numbers");
            push_le(e.data, f32_bits(x.get<double>()));
        } else if (elem == APH_VALUE_F64) {
            if (!x.is_number()) fail("key '" + key + "' must be an array of numbers");
            push_le(e.data, x.get<double>());
        } else {
            uint64_t bits = int_bits(x, elem, key);
            for (size_t b = 0; b < width(elem); ++b) e.data.push_back(static_cast<uint8_t>(bits >> (8 * b)));
        }
    }
    return e;
}

// The type a JSON value gets when nothing names it.
void infer_type(const std::string& key, const json& j, uint32_t& type, uint32_t& elem) {
    elem = 0;
    if (j.is_boolean()) type = APH_VALUE_BOOL;
    else if (j.is_number_unsigned()) type = j.get<uint64_t>() <= 0xffffffffull ? APH_VALUE_U32 : APH_VALUE_U64;
    else if (j.is_number_integer()) type = j.get<int64_t>() >= 0 ? APH_VALUE_U32 : APH_VALUE_I64;
    else if (j.is_number_float()) type = APH_VALUE_F32;
    else if (j.is_string()) type = APH_VALUE_STRING;
    else if (j.is_array()) {
        type = APH_VALUE_ARRAY;
        elem = APH_VALUE_I32;  // also the choice for an empty array
        if (!j.empty()) {
            const json& first = j.front();
            if (first.is_string()) elem = APH_VALUE_STRING;
            else if (first.is_boolean()) elem = APH_VALUE_BOOL;
            else if (first.is_number_float()) elem = APH_VALUE_F32;
            else if (first.is_number()) {
                elem = APH_VALUE_I32;
                for (const auto& x : j)
                    if (x.is_number_float()) elem = APH_VALUE_F32;
            } else {
                fail("key '" + key + "' is an array of " + std::string(first.type_name()) + " (not supported)");
            }
        }
    } else if (j.is_null()) {
        fail("key '" + key + "' is null");
    } else {
        fail("key '" + key + "' is a nested object (not supported)");
    }
}

int64_t default_rope_type(const std::string& arch) { return arch == "qwen2" ? 2 : 0; }

}  // namespace

void OwnedEntry::finalize() {
    views.clear();
    views.reserve(strings.size());
    for (const auto& s : strings) views.push_back(aph_string{s.data(), s.size()});
}

aph_metadata_entry OwnedEntry::entry() const {
    aph_metadata_entry e{};
    e.key = aph_string{key.data(), key.size()};
    e.type = type;
    e.elem_type = elem_type;
    e.count = count;
    e.scalar.u64 = scalar;
    if (type == APH_VALUE_STRING) e.str = aph_string{str.data(), str.size()};
    if (type == APH_VALUE_ARRAY) {
        if (elem_type == APH_VALUE_STRING) e.strings = views.data();
        else e.data = data.data();
    }
    return e;
}

AprMetadata apr_translate_metadata(std::string_view text) {
    check_depth(text);
    json doc;
    try {
        doc = json::parse(text.begin(), text.end());
    } catch (const json::exception& ex) {
        std::string what = ex.what();
        // nlohmann messages are one line; keep only the part after the "[json.exception...]" tag.
        auto pos = what.find("] ");
        fail("is not valid JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
    }
    if (!doc.is_object()) fail("is not a JSON object");

    // Explicit GGUF types written by `aprhost convert`.
    std::map<std::string, std::pair<uint32_t, uint32_t>> types;
    if (auto it = doc.find("aprhost.gguf_types"); it != doc.end()) {
        if (!it->is_object()) fail("key 'aprhost.gguf_types' must be an object");
        for (auto& [k, v] : it->items()) {
            uint32_t t = 0, e = 0;
            if (!v.is_string() || !parse_type_name(v.get<std::string>(), t, e))
                fail("key 'aprhost.gguf_types' has a bad type for '" + k + "'");
            types[k] = {t, e};
        }
    }

    AprMetadata out;
    std::string arch;
    for (const char* k : {"architecture", "general.architecture", "model_type"}) {
        auto it = doc.find(k);
        if (it == doc.end()) continue;
        if (!it->is_string() || it->get<std::string>().empty()) fail("key '" + std::string(k) + "' must be a string");
        arch = it->get<std::string>();
        break;
    }
    if (arch.empty()) fail("has no 'architecture' key");
    out.config.arch = arch;

    std::map<std::string, OwnedEntry> result;
    auto put = [&](OwnedEntry e) { result[e.key] = std::move(e); };
    {
        OwnedEntry e;
        e.key = "general.architecture";
        e.type = APH_VALUE_STRING;
        e.str = arch;
        put(std::move(e));
    }

    // Map every APR name to its GGUF name (consumed keys are skipped in the generic pass).
    std::map<std::string, std::string, std::less<>> consumed;  // apr key → gguf key
    for (const auto& a : config_aliases()) {
        for (const char* name : a.names) {
            auto it = doc.find(name);
            if (it == doc.end()) continue;
            std::string gkey = arch + "." + a.suffix;
            consumed[name] = gkey;
            if (result.count(gkey)) continue;  // the first alias present wins
            auto ty = types.find(gkey);
            uint32_t t = a.is_float ? APH_VALUE_F32 : APH_VALUE_U32, el = 0;
            if (ty != types.end()) t = ty->second.first, el = ty->second.second;
            put(make_entry(gkey, *it, t, el));
        }
    }
    for (const auto& tk : kTokKeys) {
        auto it = doc.find(tk.apr);
        if (it == doc.end()) continue;
        consumed[tk.apr] = tk.gguf;
        auto ty = types.find(tk.gguf);
        uint32_t t = tk.type, el = tk.elem_type;
        if (ty != types.end()) t = ty->second.first, el = ty->second.second;
        put(make_entry(tk.gguf, *it, t, el));
    }
    if (auto it = doc.find("rope_type"); it != doc.end()) {
        if (!it->is_number_integer() || (it->get<int64_t>() != 0 && it->get<int64_t>() != 2))
            fail("key 'rope_type' must be 0 (adjacent pairs) or 2 (NeoX halves)");
        if (it->get<int64_t>() != default_rope_type(arch))
            fail("rope_type " + std::to_string(it->get<int64_t>()) + " contradicts architecture '" + arch +
                 "' (which uses " + std::to_string(default_rope_type(arch)) + ")");
    }

    for (auto& [k, v] : doc.items()) {
        if (consumed.count(k) || k == "architecture" || k == "general.architecture" || k == "model_type" ||
            k == "rope_type" || k == "aprhost.gguf_types")
            continue;
        std::string gkey = k;
        // A key listed in aprhost.gguf_types under its own name is literal (e.g. tokenizer.huggingface.json).
        if (k.rfind("tokenizer.", 0) == 0 && k.rfind("tokenizer.ggml.", 0) != 0 && k != "tokenizer.chat_template" &&
            !types.count(k))
            gkey = "tokenizer.ggml." + k.substr(10);
        if (gkey.empty()) fail("has an empty key");
        if (result.count(gkey)) continue;  // a canonical key already produced it
        uint32_t t = 0, el = 0;
        if (auto ty = types.find(gkey); ty != types.end()) t = ty->second.first, el = ty->second.second;
        else infer_type(gkey, v, t, el);
        put(make_entry(gkey, v, t, el));
    }

    auto u = [&](const std::string& suffix) -> std::optional<uint64_t> {
        auto it = result.find(arch + "." + suffix);
        if (it == result.end() || it->second.type == APH_VALUE_ARRAY || it->second.type == APH_VALUE_STRING ||
            it->second.type == APH_VALUE_F32 || it->second.type == APH_VALUE_F64)
            return std::nullopt;
        return it->second.scalar;
    };
    out.config.n_embd = u("embedding_length");
    out.config.n_layer = u("block_count");
    out.config.n_vocab = u("vocab_size");
    if (!out.config.n_vocab) {
        auto it = result.find("tokenizer.ggml.tokens");
        if (it != result.end() && it->second.type == APH_VALUE_ARRAY) out.config.n_vocab = it->second.count;
    }

    out.entries.reserve(result.size());
    for (auto& [k, e] : result) out.entries.push_back(std::move(e));
    for (auto& e : out.entries) e.finalize();
    return out;
}

std::string apr_gguf_tensor_name(std::string_view name) {
    static const std::pair<const char*, const char*> top[] = {
        {"model.embed_tokens.weight", "token_embd.weight"},
        {"model.norm.weight", "output_norm.weight"},
        {"lm_head.weight", "output.weight"},
    };
    for (auto& [hf, gg] : top)
        if (name == hf) return gg;
    constexpr std::string_view prefix = "model.layers.";
    if (name.substr(0, prefix.size()) != prefix) return std::string(name);
    std::string_view rest = name.substr(prefix.size());
    size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string_view::npos) return std::string(name);
    std::string_view layer = rest.substr(0, dot);
    if (!std::all_of(layer.begin(), layer.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::string(name);
    std::string_view tail = rest.substr(dot + 1);
    static const std::pair<const char*, const char*> parts[] = {
        {"input_layernorm.", "attn_norm."},         {"self_attn.q_proj.", "attn_q."},
        {"self_attn.k_proj.", "attn_k."},           {"self_attn.v_proj.", "attn_v."},
        {"self_attn.o_proj.", "attn_output."},      {"post_attention_layernorm.", "ffn_norm."},
        {"mlp.gate_proj.", "ffn_gate."},            {"mlp.up_proj.", "ffn_up."},
        {"mlp.down_proj.", "ffn_down."},
    };
    for (auto& [hf, gg] : parts) {
        std::string_view h = hf;
        if (tail.substr(0, h.size()) == h) {
            std::string_view suffix = tail.substr(h.size());
            if (suffix == "weight" || suffix == "bias")
                return "blk." + std::string(layer) + "." + gg + std::string(suffix);
        }
    }
    return std::string(name);
}

}  // namespace aprhost::apr
