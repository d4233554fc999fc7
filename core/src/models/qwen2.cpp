// Qwen2 / Qwen2.5: llama-style blocks with Q/K/V biases and NeoX (half-split) rotary embeddings; the small
// sizes (0.5B, 1.5B) tie the output head to the token embeddings.
#include <aprhost/core/model_desc.hpp>

namespace aprhost::core::detail {

ModelDesc build_qwen2(const ModelFile& file) {
    return build_llama_family(file, "qwen2", LlamaFamilyOptions{APH_ROPE_NEOX, /*require_qkv_bias=*/true});
}

}  // namespace aprhost::core::detail
