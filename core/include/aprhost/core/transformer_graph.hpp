// Builds the step graph of one forward pass of a llama-family decoder (qwen2, llama) over n new tokens of one
// sequence: embedding → n_layer × (norm, QKV(+bias), RoPE, KV store, attention, output proj, residual,
// norm, SwiGLU FFN, residual) → final norm → output head on the last n_logits tokens.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/kv_cache.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/step_graph.hpp>

#include <cstdint>
#include <vector>

namespace aprhost::core {

// One sequence's share of a step: columns [col0, col0 + n) of the step's tokens, its block table at
// [block0, block0 + n_blocks) of the step's table input, and the attention extent the KV manager reported.
struct StepPiece {
    uint32_t col0 = 0, n = 0;
    uint32_t block0 = 0, n_blocks = 0;
    uint32_t n_kv = 0, block_size = 0;
    uint32_t n_logits = 0;  // logits wanted for the last n_logits tokens of this piece
};

// Where the step's inputs and activations live (offsets into two backend buffers).
struct StepLayout {
    uint32_t n_tokens = 0;
    uint32_t n_logits = 0;
    uint32_t n_blocks = 0;
    // inputs buffer (i32): ids[n], positions[n], slots[n], block tables[n_blocks], logit rows[n_logits]
    uint64_t off_ids = 0, off_pos = 0, off_slots = 0, off_blocks = 0, off_logit_rows = 0, inputs_bytes = 0;
    // activations buffer (f32)
    uint64_t off_x = 0, off_x2 = 0, off_xn = 0, off_q = 0, off_k = 0, off_v = 0, off_att = 0, off_o = 0;
    uint64_t off_gate = 0, off_up = 0, off_xsel = 0, off_logits = 0, activations_bytes = 0;

    static StepLayout compute(const HyperParams& hp, uint32_t n_tokens, uint32_t n_logits, uint32_t n_blocks);
};

struct StepBuffers {
    aph_buffer_t inputs = nullptr;
    aph_buffer_t activations = nullptr;
};

// Appends the nodes to g (which should be empty). One ATTENTION node per piece (sequence) and layer; everything
// else runs over all the step's tokens at once. The logits of the pieces' selected tokens land, in piece order,
// at off_logits.
void build_transformer_step(StepGraph& g, const Model& model, const KvCache& kv, const StepLayout& layout,
                            const StepBuffers& buffers, const std::vector<StepPiece>& pieces);

}  // namespace aprhost::core
