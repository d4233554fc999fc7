// Synthetic models: random-weight GGUF files with the real hyper-parameters of the Qwen2.5 sizes (see
// model_shapes.hpp), a loadable byte-level BPE tokenizer and a ChatML template, mixing tensor types the way
// llama-quantize does. Tests and benchmarks use them so nothing depends on downloads (`aprhost synth`).
//
// Weights are written as random quantised blocks whose scales are chosen so every dequantised weight is about
// zero-mean with standard deviation 1/sqrt(in_features): activations stay O(1) through all layers and logits
// are finite. Same options (seed included) → byte-identical file.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/gguf_writer.hpp>
#include <aprhost/core/metadata.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace aprhost::core {

struct SynthOptions {
    std::string arch = "qwen2";          // qwen2 (Q/K/V biases, NeoX rope) | llama (no biases)
    std::string shape = "tiny";          // tiny | 0.5b | 1.5b | 7b
    aph_dtype quant = APH_DTYPE_Q4_K;    // Q4_K (= the Q4_K_M mix), Q4_0, Q8_0, F16
    uint64_t seed = 1;
    // Tied embeddings (no output.weight). nullopt: the shape's own (0.5b/1.5b tied, 7b untied); for `tiny`
    // the default is tied for qwen2 and untied for llama, so the two tiny models cover both output paths.
    std::optional<bool> tied_embeddings;
};

// How a tensor's values are generated.
enum class SynthInit {
    WEIGHT,  // zero-mean, std = `scale` (1/sqrt(ne[0]))
    NORM,    // 1.0 plus uniform noise of half-width `scale`
    BIAS,    // uniform in [-scale, scale]
};

struct SynthTensorPlan {
    std::string name;       // GGUF tensor name ("blk.0.attn_q.weight")
    aph_dtype dtype;
    std::vector<int64_t> ne;  // GGUF order: ne[0] = row length (in_features)
    SynthInit init;
    float scale;
    uint64_t bytes;
};

// The tensor table of the model, in file order. Throws core::Error(USAGE) for an unknown arch/shape/quant.
std::vector<SynthTensorPlan> plan_synthetic_model(const SynthOptions& opts);

// Every metadata key of the file: architecture and hyper-parameters, file type, tokenizer, chat template.
Metadata synthetic_model_metadata(const SynthOptions& opts);

// Fills the bytes of one planned tensor (out.size() == plan.bytes). `tensor_index` is the tensor's position in
// the plan: together with the seed it selects the random stream, so any tensor can be regenerated alone.
void fill_synthetic_tensor(const SynthTensorPlan& plan, uint64_t seed, uint64_t tensor_index, std::span<uint8_t> out);

// Writes the model. Prints nothing (progress is the caller's). Throws core::Error(USAGE) for unknown
// arch/shape/quant and core::Error(BAD_INPUT) when the file cannot be written.
void write_synthetic_model(const SynthOptions& opts, const std::string& path,
                           const GgufWriter::Progress& progress = {});

}  // namespace aprhost::core
