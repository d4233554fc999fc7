// COPY (f32 ⇄ f16/bf16 and same-dtype copies) and GET_ROWS (dequantize picked rows of any weight dtype to f32).
#include "ops.hpp"
#include "tensor_view.hpp"

#include <aprhost/plugin.hpp>
#include <aprhost/reference/dequant.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace aprhost::cpu {

namespace {

// Converts n elements from src (dtype sd) to dst (dtype dd); sd, dd ∈ {F32, F16, BF16} or sd == dd.
// f16 ⇄ bf16 goes through an f32 staging row.
void convert_row(const KernelTable& k, uint32_t sd, const void* src, uint32_t dd, void* dst, int64_t n,
                 std::vector<float>& stage) {
    if (sd == dd) {
        std::memcpy(dst, src, dtype_row_bytes(sd, n));
        return;
    }
    const float* f = nullptr;
    if (sd == APH_DTYPE_F32) {
        f = static_cast<const float*>(src);
    } else {
        stage.resize(static_cast<size_t>(n));
        if (sd == APH_DTYPE_F16) k.f16_to_f32_row(static_cast<const uint16_t*>(src), stage.data(), n);
        else k.bf16_to_f32_row(static_cast<const uint16_t*>(src), stage.data(), n);
        f = stage.data();
    }
    if (dd == APH_DTYPE_F32) std::memcpy(dst, f, static_cast<size_t>(n) * sizeof(float));
    else if (dd == APH_DTYPE_F16) k.f32_to_f16_row(f, static_cast<uint16_t*>(dst), n);
    else k.f32_to_bf16_row(f, static_cast<uint16_t*>(dst), n);
}

}  // namespace

void op_copy(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& s = g.tensors[node.src[0]];
    const aph_tensor& d = g.tensors[node.dst];
    const int nth = threads_for_work(env, static_cast<double>(tensor_elements(s)));
    if (same_shape(s, d)) {
        const int64_t rows = tensor_rows(s);
        env.pool.parallel_for(rows, chunk_for(rows, nth), nth, [&](int, int64_t r0, int64_t r1) {
            std::vector<float> stage;
            for (int64_t r = r0; r < r1; ++r)
                convert_row(env.k, s.dtype, tensor_flat_row(s, r), d.dtype, tensor_flat_row(d, r), s.ne[0], stage);
        });
        return;
    }
    // Different shapes with the same element count (a reshape): both sides are contiguous (checked by validate);
    // convert in pieces of whole blocks.
    const int64_t n = tensor_elements(s);
    const int64_t be = dtype_block_elems(s.dtype);
    const int64_t pieces = (n / be + 1023) / 1024;
    env.pool.parallel_for(pieces, chunk_for(pieces, nth), nth, [&](int, int64_t p0, int64_t p1) {
        std::vector<float> stage;
        for (int64_t p = p0; p < p1; ++p) {
            const int64_t e0 = p * 1024 * be, cnt = std::min<int64_t>(1024 * be, n - e0);
            const uint8_t* src = tensor_base(s) + dtype_row_bytes(s.dtype, e0);
            uint8_t* dst = tensor_base(d) + dtype_row_bytes(d.dtype, e0);
            convert_row(env.k, s.dtype, src, d.dtype, dst, cnt, stage);
        }
    });
}

void op_get_rows(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& table = g.tensors[node.src[0]];
    const aph_tensor& ids_t = g.tensors[node.src[1]];
    const aph_tensor& d = g.tensors[node.dst];
    const auto* ids = reinterpret_cast<const int32_t*>(tensor_base(ids_t));
    const int64_t n = ids_t.ne[0];
    for (int64_t i = 0; i < n; ++i) {
        if (ids[i] < 0 || ids[i] >= table.ne[1])
            throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "GET_ROWS: id " + std::to_string(ids[i]) + " at " +
                                                              std::to_string(i) + " outside the " +
                                                              std::to_string(table.ne[1]) + " rows");
    }
    const int nth = threads_for_work(env, static_cast<double>(n * table.ne[0]) * 4.0);
    env.pool.parallel_for(n, chunk_for(n, nth), nth, [&](int, int64_t i0, int64_t i1) {
        std::vector<float> stage;
        for (int64_t i = i0; i < i1; ++i) {
            const uint8_t* src = tensor_row(table, ids[i]);
            auto* dst = reinterpret_cast<float*>(tensor_row(d, i));
            switch (table.dtype) {
                case APH_DTYPE_F32:
                case APH_DTYPE_F16:
                case APH_DTYPE_BF16: convert_row(env.k, table.dtype, src, APH_DTYPE_F32, dst, table.ne[0], stage); break;
                default: aprhost::ref::dequantize_row(table.dtype, src, dst, table.ne[0]); break;
            }
        }
    });
}

}  // namespace aprhost::cpu
