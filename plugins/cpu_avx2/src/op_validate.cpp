// What the CPU backend accepts and the buffer-bounds check every node passes before it runs. The ABI's rules
// (indices, tensor layouts, each op's dtypes/shapes/parameters) are the SDK's (aprhost/graph_rules.hpp); on top
// of them the CPU backend asks for:
//   - tensors of the weight dtypes or i32 only (its kernels implement no other dtype, Q8_K included);
//   - views aligned to their element size: kernels read f32/i32 as 4-byte and f16/bf16/block scales as 2-byte
//     values, and buffer memory aligned to 4 bytes.
#include "ops.hpp"
#include "tensor_view.hpp"

#include <aprhost/graph_rules.hpp>
#include <aprhost/plugin.hpp>

#include <cstdint>
#include <string>

namespace aprhost::cpu {

namespace {

bool cpu_implements_dtype(uint32_t dt) { return dt == APH_DTYPE_I32 || sdk::is_weight_dtype(dt); }

const sdk::LayoutRules kLayout{int64_t{1} << 48, /*aligned_views=*/true, cpu_implements_dtype};

sdk::OpRules op_rules() {
    sdk::OpRules r;
    r.backend_name = "cpu";
    return r;
}

}  // namespace

std::string op_unsupported_reason(const aph_graph& g, uint32_t node_index) {
    return sdk::node_reason(g, node_index, kLayout, op_rules());
}

void op_check_bounds(const aph_graph& g, const aph_node& node) {
    auto check = [&](int32_t idx, const char* role) {
        if (idx < 0) return;
        const aph_tensor& t = g.tensors[idx];
        const CpuBuffer* b = as_cpu_buffer(t.buffer);
        const std::string why = sdk::tensor_bounds_reason(t, b->size, role);
        if (!why.empty()) throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, why);
        if (sdk::tensor_elements(t) != 0 && reinterpret_cast<uintptr_t>(b->data) % 4 != 0)
            throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, std::string(role) + ": buffer memory is not 4-byte aligned");
    };
    for (int i = 0; i < APH_MAX_SRC; ++i) check(node.src[i], sdk::kSrcRoles[i]);
    check(node.dst, "dst");
}

}  // namespace aprhost::cpu
