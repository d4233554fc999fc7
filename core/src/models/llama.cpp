// Llama / SmolLM2: RMSNorm, GQA attention without biases, SwiGLU FFN. GGUF converters permute Q/K rows so the
// "normal" (adjacent pairs) rotary mode applies.
#include <aprhost/core/model_desc.hpp>

namespace aprhost::core::detail {

ModelDesc build_llama(const ModelFile& file) {
    return build_llama_family(file, "llama", LlamaFamilyOptions{APH_ROPE_NORM, /*require_qkv_bias=*/false});
}

}  // namespace aprhost::core::detail
