// Per-node profile of one step graph: the backend's measured wall time of each node (graph_profile, ABI 1.1) next
// to a static cost model of the node — bytes of weights it reads, bytes of activations/KV it reads and writes, and
// floating-point operations — from which profilers derive achieved GB/s, GFLOP/s and arithmetic intensity.
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace aprhost::core {

struct NodeProfile {
    std::string name;           // "blk.3.attn_q"; "" when the node had none
    uint32_t op = APH_OP_NONE;  // aph_op
    uint64_t ns = 0;            // measured by the backend
    uint64_t weight_bytes = 0;  // model weights read (MUL_MAT src0, embedding rows, norm weights, biases)
    uint64_t act_bytes = 0;     // everything else read or written: activations, KV entries attended/stored
    // MUL_MAT 2·in·out·n (+ out·n with a bias); ATTENTION 4·head_dim·Σ visible kv per query·heads; other ops one
    // per output element (a lower bound: they are memory-bound either way).
    uint64_t flops = 0;
};

struct StepProfile {
    uint32_t n_tokens = 0;   // tokens in the step (1 = decode)
    uint32_t n_kv = 0;       // largest kv length attended in the step
    uint64_t graph_ns = 0;   // host wall time of graph_profile (submit → all nodes done)
    uint64_t step_ns = 0;    // the whole forward step (inputs upload, graph build, compute, logits download)
    std::vector<NodeProfile> nodes;
};

// The cost model of every node of g, with node_ns (g.n_nodes entries) as times. Tensors in `inputs` or
// `activations` (the step's own buffers) and KV caches (KV_STORE dst, ATTENTION src1/src2) are not weights.
StepProfile describe_step(const aph_graph& g, const std::vector<uint64_t>& node_ns, aph_buffer_t inputs,
                          aph_buffer_t activations);

// Bytes spanned by a tensor view (rows × row stride for ≥ 2 dims; whole blocks for 1-D quantized rows).
uint64_t tensor_bytes(const aph_tensor& t);

// 3 for "blk.3.attn_q"; -1 for nodes outside the layers ("token_embd", "output").
int layer_of(const std::string& node_name);

}  // namespace aprhost::core
