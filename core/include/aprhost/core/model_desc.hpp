// The model description: hyper-parameters and the weight tensors of a decoder-only transformer, built from a
// ModelFile by the builder registered for its general.architecture (one file per architecture in src/models/).
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/model_file.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aprhost::core {

struct HyperParams {
    std::string arch;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;
    float rms_eps = 1e-6f;
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;
    int32_t rope_mode = APH_ROPE_NORM;
    int32_t n_rot = 0;
};

struct LayerWeights {
    const TensorRef* attn_norm = nullptr;
    const TensorRef* wq = nullptr;
    const TensorRef* wk = nullptr;
    const TensorRef* wv = nullptr;
    const TensorRef* bq = nullptr;  // optional (qwen2: required)
    const TensorRef* bk = nullptr;
    const TensorRef* bv = nullptr;
    const TensorRef* wo = nullptr;
    const TensorRef* ffn_norm = nullptr;
    const TensorRef* w_gate = nullptr;
    const TensorRef* w_up = nullptr;
    const TensorRef* w_down = nullptr;
};

struct ModelDesc {
    HyperParams hp;
    const TensorRef* tok_embd = nullptr;
    const TensorRef* output_norm = nullptr;
    const TensorRef* output = nullptr;  // == tok_embd when embeddings are tied
    bool tied_embeddings = false;
    std::vector<LayerWeights> layers;

    // Bytes of weights read for one decoded token (every matrix once, the embedding row, norms): the numerator
    // of the memory-bandwidth ceiling.
    uint64_t weight_bytes_per_token() const;
};

// Builds the description for the file's architecture. Throws core::Error(BAD_INPUT) naming the missing key or
// tensor, or the shape that does not fit; lists supported architectures when unknown.
ModelDesc describe_model(const ModelFile& file);

// Names of the supported architectures ("llama", "qwen2").
std::vector<std::string> supported_architectures();

namespace detail {
// Shared by the llama-family builders: reads {arch}.* hyper-parameters and blk.N.* tensors, checking shapes.
struct LlamaFamilyOptions {
    int32_t rope_mode;
    bool require_qkv_bias;
};
ModelDesc build_llama_family(const ModelFile& file, const std::string& arch, const LlamaFamilyOptions& opts);
ModelDesc build_llama(const ModelFile& file);
ModelDesc build_qwen2(const ModelFile& file);
}  // namespace detail

}  // namespace aprhost::core
