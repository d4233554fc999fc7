// What the Vulkan backend accepts. The ABI's rules (indices, tensor layouts, each op's dtypes/shapes/parameters) are
// the SDK's (aprhost/graph_rules.hpp, the same as every backend's); on top of them the Vulkan backend asks for:
//   - views aligned to their element size (shaders address f32/i32 as 4-byte and f16/bf16/block data as 2-byte
//     words) and at most 2^40 elements per tensor;
//   - tensors that fit one storage-buffer binding for the ops that bind tensors whole (all but MUL_MAT and
//     GET_ROWS, which defer to the quantised kernels' own checks), and grids within the device's dispatch limits;
//   - bf16 KV caches for KV_STORE (beyond the ABI's f32/f16), but f32/f16 caches of one dtype for ATTENTION,
//     head_dim ≤ 256, whole-row KV_STORE sources that are 2-D or contiguous, COPY between float dtypes only.
#include "vk_ops.hpp"

#include <aprhost/graph_rules.hpp>

#include <string>

namespace aprhost::vk {

namespace {

const sdk::LayoutRules kLayout{int64_t{1} << 40, /*aligned_views=*/true, nullptr};

sdk::OpRules op_rules() {
    sdk::OpRules r;
    r.bf16_kv_cache = true;
    r.backend_name = "vulkan";
    return r;
}

// The whole tensor must fit one binding (these ops bind tensors whole).
std::string need_window(const DeviceCaps& caps, const aph_tensor& t, const char* role) {
    const uint64_t span = tensor_span(t) + caps.min_storage_buffer_offset_alignment;
    if (span > caps.max_storage_buffer_range)
        return std::string(role) + " spans " + std::to_string(span) + " bytes, more than one binding (" +
               std::to_string(caps.max_storage_buffer_range) + ") on this device";
    return "";
}

// What this device and these shaders need beyond the SDK's rules, for a node those rules accepted.
std::string device_reason(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    auto src = [&](int i) -> const aph_tensor& { return g.tensors[n.src[i]]; };
    const aph_tensor& d = g.tensors[n.dst];
    if (n.op == APH_OP_GET_ROWS) return get_rows_unsupported(caps, g, n);
    if (n.op == APH_OP_MUL_MAT) return mul_mat_unsupported(caps, g, n);
    for (int i = 0; i < APH_MAX_SRC; ++i) {
        if (n.src[i] < 0) continue;
        const std::string r = need_window(caps, src(i), sdk::kSrcRoles[i]);
        if (!r.empty()) return r;
    }
    std::string r = need_window(caps, d, "dst");
    if (!r.empty()) return r;
    switch (n.op) {
        case APH_OP_ROPE: {
            const aph_tensor& x = src(0);
            if (x.ne[1] > caps.max_workgroup_count[1] || x.ne[2] > caps.max_workgroup_count[2])
                return "ROPE has more heads or tokens than one dispatch covers";
            return "";
        }
        case APH_OP_KV_STORE: {
            const aph_tensor& x = src(0);
            const bool per_head = x.ne[0] != d.ne[0];
            if (!per_head && !(x.ne[2] == 1 && x.ne[3] == 1) && !sdk::is_contiguous(x))
                return "KV_STORE src0 with whole cache rows must be 2-D or contiguous";
            const int64_t tokens = per_head ? x.ne[2] : sdk::tensor_rows(x);
            if (tokens > caps.max_workgroup_count[1]) return "KV_STORE has more tokens than one dispatch covers";
            return "";
        }
        case APH_OP_ATTENTION: {
            const aph_tensor &q = src(0), &k = src(1), &v = src(2);
            for (const aph_tensor* c : {&k, &v})
                if (c->dtype != APH_DTYPE_F32 && c->dtype != APH_DTYPE_F16)
                    return "ATTENTION cache dtype must be f32 or f16, got " + sdk::dtype_str(c->dtype);
            if (k.dtype != v.dtype) return "ATTENTION K and V caches must have the same dtype";
            if (q.ne[0] > kAttentionMaxHeadDim)
                return "ATTENTION head_dim " + std::to_string(q.ne[0]) + " > 256 is not supported";
            if (q.ne[1] > caps.max_workgroup_count[0] || q.ne[2] > caps.max_workgroup_count[1])
                return "ATTENTION has more heads or queries than one dispatch covers";
            return "";
        }
        case APH_OP_COPY: {
            const aph_tensor& s = src(0);
            if (!sdk::is_float_dtype(s.dtype) || !sdk::is_float_dtype(d.dtype))
                return "COPY " + sdk::dtype_str(s.dtype) + " -> " + sdk::dtype_str(d.dtype) +
                       " is not supported (f32/f16/bf16 only)";
            return "";
        }
        default:
            return "";
    }
}

}  // namespace

std::string dtype_name(uint32_t dt) { return sdk::dtype_str(dt); }

uint64_t dtype_bytes(uint32_t dtype, int64_t n) { return sdk::dtype_row_bytes(dtype, n); }

uint64_t tensor_span(const aph_tensor& t) { return sdk::tensor_span(t); }

std::string tensor_out_of_bounds(const aph_tensor& t, uint64_t buffer_size, const char* role) {
    return sdk::tensor_bounds_reason(t, buffer_size, role);
}

std::string node_unsupported(const DeviceCaps& caps, const aph_graph& g, uint32_t index) {
    const std::string r = sdk::node_reason(g, index, kLayout, op_rules());
    if (!r.empty()) return r;
    return device_reason(caps, g, g.nodes[index]);
}

}  // namespace aprhost::vk
