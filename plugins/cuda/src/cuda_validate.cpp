// See cuda_validate.hpp. The ABI's rules are the SDK's (aprhost/graph_rules.hpp: the same graphs run on every
// backend); on top of them the CUDA backend keeps bf16 KV caches (beyond the ABI's f32/f16), the kernels' layout
// (kTensorLayout, and contiguous index tensors, equal strides in place), the attention kernels' head_dim (≤ 256)
// and shared memory, and the MUL_MAT / GET_ROWS contract of the quantised-weight kernels.
#include "cuda_validate.hpp"

#include "cuda_ops.hpp"

#include <aprhost/graph_rules.hpp>
#include <aprhost/plugin.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

namespace aprhost::cuda {

namespace {

sdk::OpRules op_rules() {
    sdk::OpRules r;
    r.bf16_kv_cache = true;
    r.backend_name = "cuda";
    return r;
}

// What the CUDA kernels need beyond the SDK's rules, for a node those rules accepted.
std::string device_reason(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    auto src = [&](int i) -> const aph_tensor& { return g.tensors[n.src[i]]; };
    const aph_tensor& d = g.tensors[n.dst];
    switch (n.op) {
        case APH_OP_GET_ROWS: return get_rows_unsupported(g, n);
        case APH_OP_MUL_MAT: return mul_mat_unsupported(g, n);
        case APH_OP_ROPE: {
            const aph_tensor& x = src(0);
            if (!sdk::is_contiguous(src(1))) return "ROPE positions must be contiguous";
            if (d.buffer == x.buffer && d.offset == x.offset && (d.nb[1] != x.nb[1] || d.nb[2] != x.nb[2]))
                return "ROPE in place needs equal strides";
            return "";
        }
        case APH_OP_KV_STORE:
            if (!sdk::is_contiguous(src(1))) return "KV_STORE slots must be contiguous";
            return "";
        case APH_OP_ATTENTION: {
            const int64_t hd = src(0).ne[0];
            if (hd > kAttentionMaxHeadDim)
                return "ATTENTION head_dim " + std::to_string(hd) + " is outside 1.." +
                       std::to_string(kAttentionMaxHeadDim) + " (cuda kernels)";
            const size_t smem = attention_tile_smem_bytes(hd);
            if (src(0).ne[2] > 1 && smem > std::max<size_t>(caps.shared_mem_per_block_optin, 48 * 1024))
                return "ATTENTION head_dim " + std::to_string(hd) + " needs " + std::to_string(smem) +
                       " bytes of shared memory, the device allows " + std::to_string(caps.shared_mem_per_block_optin);
            return "";
        }
        default:
            return "";
    }
}

}  // namespace

std::string node_unsupported_reason(const DeviceCaps& caps, const aph_graph& g, uint32_t index) {
    const std::string r = sdk::node_reason(g, index, kTensorLayout, op_rules());
    if (!r.empty()) return r;
    return device_reason(caps, g, g.nodes[index]);
}

void check_node_bounds(const BufferTable& buffers, const aph_graph& g, const aph_node& node) {
    auto check = [&](int32_t idx, const char* role) {
        if (idx < 0) return;
        const aph_tensor& t = g.tensors[idx];
        const CudaBuffer* b = buffers.checked(t.buffer, role);
        const std::string why = sdk::tensor_bounds_reason(t, b->size, role);
        if (!why.empty()) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, why);
    };
    for (int i = 0; i < APH_MAX_SRC; ++i) check(node.src[i], sdk::kSrcRoles[i]);
    check(node.dst, "dst");
}

}  // namespace aprhost::cuda
