// Row-wise f32 ops: RMS_NORM, SWIGLU/GEGLU, ADD (row broadcast), SCALE, ROPE. Rows are independent, so the
// split over threads (contiguous row ranges) never changes a result.
#include "ops.hpp"
#include "tensor_view.hpp"

#include <cmath>
#include <cstring>
#include <vector>

namespace aprhost::cpu {

namespace {

// Runs fn(r) for every flattened row r of a tensor with `rows` rows of `row_len` elements.
template <class F>
void for_each_row(OpEnv& env, int64_t rows, int64_t row_len, F&& fn) {
    const int nth = threads_for_work(env, static_cast<double>(rows) * static_cast<double>(row_len) * 4.0);
    env.pool.parallel_for(rows, chunk_for(rows, nth), nth, [&](int, int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) fn(r);
    });
}

inline float* frow(const aph_tensor& t, int64_t r) { return reinterpret_cast<float*>(tensor_flat_row(t, r)); }

}  // namespace

void op_rms_norm(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& x = g.tensors[node.src[0]];
    const aph_tensor& d = g.tensors[node.dst];
    const float* w = node.src[1] >= 0 ? reinterpret_cast<const float*>(tensor_base(g.tensors[node.src[1]])) : nullptr;
    const float eps = node.fparams[0];
    for_each_row(env, tensor_rows(x), x.ne[0], [&](int64_t r) { env.k.rms_norm_row(frow(x, r), w, frow(d, r), x.ne[0], eps); });
}

void op_glu(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& a = g.tensors[node.src[0]];
    const aph_tensor& b = g.tensors[node.src[1]];
    const aph_tensor& d = g.tensors[node.dst];
    const auto fn = node.op == APH_OP_SWIGLU ? env.k.swiglu_row : env.k.geglu_row;
    for_each_row(env, tensor_rows(a), a.ne[0] * 8, [&](int64_t r) { fn(frow(a, r), frow(b, r), frow(d, r), a.ne[0]); });
}

void op_add(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& a = g.tensors[node.src[0]];
    const aph_tensor& b = g.tensors[node.src[1]];
    const aph_tensor& d = g.tensors[node.dst];
    for_each_row(env, tensor_rows(a), a.ne[0], [&](int64_t r) {
        const int64_t i1 = r % a.ne[1], i2 = (r / a.ne[1]) % a.ne[2], i3 = r / (a.ne[1] * a.ne[2]);
        // src1 broadcasts along every dimension where it has extent 1.
        const auto* brow = reinterpret_cast<const float*>(
            tensor_row(b, b.ne[1] == 1 ? 0 : i1, b.ne[2] == 1 ? 0 : i2, b.ne[3] == 1 ? 0 : i3));
        env.k.add_row(frow(a, r), brow, frow(d, r), a.ne[0]);
    });
}

void op_scale(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& a = g.tensors[node.src[0]];
    const aph_tensor& d = g.tensors[node.dst];
    const float s = node.fparams[0];
    for_each_row(env, tensor_rows(a), a.ne[0], [&](int64_t r) { env.k.scale_row(frow(a, r), s, frow(d, r), a.ne[0]); });
}

void op_rope(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& x = g.tensors[node.src[0]];
    const aph_tensor& pos_t = g.tensors[node.src[1]];
    const aph_tensor& d = g.tensors[node.dst];
    const auto* pos = reinterpret_cast<const int32_t*>(tensor_base(pos_t));
    const int mode = node.iparams[0];
    const int64_t head_dim = x.ne[0], heads = x.ne[1], n = x.ne[2];
    const int64_t n_rot = node.iparams[1];
    const int64_t half = n_rot / 2;
    const double freq_base = node.fparams[0];
    const double freq_scale = node.fparams[1];

    const int nth = threads_for_work(env, static_cast<double>(n) * static_cast<double>(heads * head_dim) * 8.0);
    env.pool.parallel_for(n, chunk_for(n, nth), nth, [&](int, int64_t t0, int64_t t1) {
        // cos/sin of θ_i = p · freq_scale · base^(−2i/n_rot), computed in double once per token for all heads.
        std::vector<float> cs(static_cast<size_t>(2 * half));
        for (int64_t t = t0; t < t1; ++t) {
            const double p = static_cast<double>(pos[t]) * freq_scale;
            for (int64_t i = 0; i < half; ++i) {
                const double theta = p * std::pow(freq_base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
                cs[2 * i] = static_cast<float>(std::cos(theta));
                cs[2 * i + 1] = static_cast<float>(std::sin(theta));
            }
            for (int64_t h = 0; h < heads; ++h) {
                const auto* src = reinterpret_cast<const float*>(tensor_row(x, h, t));
                auto* dst = reinterpret_cast<float*>(tensor_row(d, h, t));
                for (int64_t i = 0; i < half; ++i) {
                    // NORM rotates adjacent pairs (2i, 2i+1); NEOX rotates (i, i + n_rot/2).
                    const int64_t i0 = mode == APH_ROPE_NEOX ? i : 2 * i;
                    const int64_t i1 = mode == APH_ROPE_NEOX ? i + half : 2 * i + 1;
                    const float c = cs[2 * i], s = cs[2 * i + 1];
                    const float x0 = src[i0], x1 = src[i1];
                    dst[i0] = x0 * c - x1 * s;
                    dst[i1] = x0 * s + x1 * c;
                }
                if (dst != src) std::memcpy(dst + n_rot, src + n_rot, static_cast<size_t>(head_dim - n_rot) * sizeof(float));
            }
        }
    });
}

}  // namespace aprhost::cpu
