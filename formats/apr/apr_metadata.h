// APR JSON metadata → GGUF-named metadata entries, and HF tensor names → GGUF tensor names.
//
// The JSON is one flat object. Translation (aliases accepted on input; the canonical APR name first):
//   architecture                                     → general.architecture
//   hidden_size | hidden_dim | n_embd                → {arch}.embedding_length          (u32)
//   num_layers | num_hidden_layers | n_layer         → {arch}.block_count               (u32)
//   num_heads | num_attention_heads | n_head         → {arch}.attention.head_count      (u32)
//   num_kv_heads | num_key_value_heads | n_head_kv   → {arch}.attention.head_count_kv   (u32)
//   vocab_size                                       → {arch}.vocab_size                (u32)
//   intermediate_size | n_ff                         → {arch}.feed_forward_length       (u32)
//   max_position_embeddings | context_length         → {arch}.context_length            (u32)
//   head_dim                                         → {arch}.attention.key_length      (u32)
//   rope_theta                                       → {arch}.rope.freq_base            (f32)
//   rms_norm_eps                                     → {arch}.attention.layer_norm_rms_epsilon (f32)
//   rope_type        checked against the architecture (qwen2 → 2 NeoX, llama → 0), not exposed
//   tokenizer.vocabulary → tokenizer.ggml.tokens, tokenizer.merges → .merges, tokenizer.scores → .scores (f32[]),
//   tokenizer.token_type → .token_type (i32[]), tokenizer.bos_token_id/eos_token_id → .bos/.eos_token_id (u32),
//   tokenizer.model → tokenizer.ggml.model, other tokenizer.X → tokenizer.ggml.X, chat_template →
//   tokenizer.chat_template.
// Any other key keeps its name. Its type is inferred from JSON (bool; integer → u32 when it fits, else i64/u64;
// number → f32; string; arrays of strings / integers (i32) / numbers (f32)) unless the optional object
// "aprhost.gguf_types" {key: "u64" | "f64" | "array:i64" | ...} names the GGUF type (written by `aprhost convert`
// so that GGUF → APR → GGUF keeps every type). Nested objects and arrays of arrays are refused.
//
// Errors throw sdk::Error(APH_STATUS_BAD_FORMAT, "APR: metadata ...").
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::apr {

// One metadata entry with owned storage. entry() returns views into it (valid while this object lives and is
// not moved after finalize()).
struct OwnedEntry {
    std::string key;
    uint32_t type = APH_VALUE_U32;
    uint32_t elem_type = 0;
    uint64_t count = 1;
    uint64_t scalar = 0;                // bits per abi.h
    std::string str;
    std::vector<uint8_t> data;          // packed numeric array
    std::vector<std::string> strings;   // string array
    std::vector<aph_string> views;      // string array views, built by finalize()

    void finalize();
    aph_metadata_entry entry() const;
};

struct AprConfig {
    std::string arch;
    std::optional<uint64_t> n_embd, n_vocab, n_layer;
};

struct AprMetadata {
    std::vector<OwnedEntry> entries;  // sorted by key
    AprConfig config;
};

// Parses and translates the metadata JSON (size already bounded by the parser).
AprMetadata apr_translate_metadata(std::string_view json);

// HF-style names (model.layers.N.self_attn.q_proj.weight, ...) → GGUF names; anything else unchanged.
std::string apr_gguf_tensor_name(std::string_view name);

}  // namespace aprhost::apr
