// Hyper-parameters of the Qwen2.5 sizes aprhost synthesises (plus a tiny test shape) and the llama-quantize
// style choice of a tensor's type in a mixed-precision file. Shared by `aprhost synth`, the benchmarks and tests.
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace aprhost::core {

struct ModelShape {
    const char* name;         // "tiny", "0.5b", "1.5b", "7b"
    int64_t hidden;           // embedding_length
    int64_t layers;           // block_count
    int64_t heads;            // attention.head_count
    int64_t kv_heads;         // attention.head_count_kv
    int64_t ffn;              // feed_forward_length
    int64_t vocab;
    bool tied_embeddings;     // no output.weight: token_embd is the output head too
    int64_t context_length;
    float rope_freq_base;
    float rms_eps;

    int64_t head_dim() const { return hidden / heads; }
};

// nullptr for unknown names. Names are matched case-insensitively.
const ModelShape* find_model_shape(std::string_view name);
std::span<const ModelShape> model_shapes();

// What a tensor is, for the quantisation mix.
enum class TensorRole {
    TOKEN_EMBD,
    OUTPUT,  // output.weight (or token_embd when tied: pass OUTPUT for it)
    ATTN_Q,
    ATTN_K,
    ATTN_V,
    ATTN_OUTPUT,
    FFN_GATE,
    FFN_UP,
    FFN_DOWN,
    NORM,   // 1-D: stays F32
    BIAS,   // 1-D: stays F32
};

// llama-quantize's rule for the layers that get more bits in the *_M mixes: the first and last eighth of the
// layers and every third layer in between.
bool quant_use_more_bits(int64_t layer, int64_t n_layers);

// Type of one tensor in a file whose target ("file type") is `target`: Q4_K means Q4_K_M (attn_v and ffn_down
// Q6_K in the more-bits layers, output Q6_K), Q4_0 / Q8_0 / F16 are the plain files (output Q6_K for Q4_0 as
// llama-quantize does). Rows (ne0 = row_width) that are not a multiple of 256 cannot hold K-quants and fall
// back like llama-quantize: Q4_K → Q5_0, Q6_K → Q8_0. Throws core::Error(USAGE) for other targets.
aph_dtype quant_mix_type(aph_dtype target, TensorRole role, int64_t layer, int64_t n_layers, int64_t row_width);

// general.file_type value llama.cpp writes for a target (LLAMA_FTYPE_*): F16 1, Q4_0 2, Q8_0 7, Q4_K(_M) 15.
uint32_t quant_file_type(aph_dtype target);

// Short name of the mix: "Q4_K_M", "Q4_0", "Q8_0", "F16".
const char* quant_mix_name(aph_dtype target);

}  // namespace aprhost::core
