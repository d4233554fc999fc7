// MUL_MAT driver: dst[out, cols] = W[in, out] · X[in, cols] (+ bias).
//
// 1. Every activation column is quantized once into 8-bit blocks (ActBlock32 / Q8_K) — or used as f32 for float
//    weights — by the caller for small activations, otherwise by all threads in a first dispatch.
// 2. Output rows are handed out in chunks claimed dynamically (ThreadPool::parallel_for: a preempted or sleeping
//    worker does not stall the op). Inside a chunk, columns are walked in blocks of kColBlock and, per weight row,
//    in tiles of up to kMaxTileCols columns, so a weight row is decoded once per tile and stays in L1 across the
//    column blocks. Dtypes whose kernel table has a row-range entry (DotKernel::rows) get one call per column tile
//    for the whole chunk instead of one call per row (per-row costs dominate on short decode rows).
//
// Invariant (KV-cache parity): out[row, j] is computed by exactly one dot-kernel call whose per-column arithmetic
// does not depend on the tile width, the tile position, the chunking or the thread — so column j of a batch is
// bit-identical to the same column run alone.
#include "ops.hpp"
#include "tensor_view.hpp"

#include <aprhost/reference/dequant.hpp>

#include <algorithm>

namespace aprhost::cpu {

namespace {

constexpr int64_t kColBlock = 16;  // columns per L2-resident activation block
// Weight bytes per row chunk: decode streams long runs (hardware prefetch works best on long sequential runs);
// prefill keeps a chunk L1/L2-resident while it is reused for every column block.
constexpr int64_t kChunkBytesDecode = 256 << 10;
constexpr int64_t kChunkBytesPrefill = 32 << 10;
// Activations up to this many elements are quantized by the calling thread before the dispatch: cheaper than a
// second dispatch.
constexpr int64_t kSerialQuantizeElems = 1 << 16;

size_t act_col_bytes(ActKind kind, int64_t k) {
    switch (kind) {
        case ActKind::Q8_32: return static_cast<size_t>(k / 32) * sizeof(ActBlock32);
        case ActKind::Q8_K: return static_cast<size_t>(k / 256) * sizeof(ActBlockK);
        case ActKind::F32: return 0;
    }
    return 0;
}

// APR-native weights (APR_Q4, APR_Q8): no integer-dot kernel; each weight block is dequantized with the SDK
// reference and dotted with the f32 column. Every column has its own accumulator updated in the same order
// whatever nc is, which keeps the batch-vs-single bit-identity. Shared by both ISA variants (simple and correct;
// APR-native types are not a fast path — GGUF types converted to APR keep their GGML ids and kernels).
template <uint32_t Dtype>
void dot_apr_dequant(int64_t n, const void* w, const void* const* act, int nc, float* out) {
    constexpr int64_t qk = aprhost::ref::QK_APR;
    const size_t bb = aprhost::ref::block_bytes(Dtype);
    float acc[kMaxTileCols] = {};
    float tmp[qk];
    for (int64_t b = 0; b < n / qk; ++b) {
        aprhost::ref::dequantize_row(Dtype, static_cast<const uint8_t*>(w) + static_cast<size_t>(b) * bb, tmp, qk);
        for (int c = 0; c < nc; ++c) {
            const float* x = static_cast<const float*>(act[c]) + b * qk;
            float s = 0.0f;
            for (int64_t i = 0; i < qk; ++i) s += tmp[i] * x[i];
            acc[c] += s;
        }
    }
    for (int c = 0; c < nc; ++c) out[c] = acc[c];
}

}  // namespace

DotKernel dot_kernel_for(const KernelTable& t, uint32_t dtype) {
    switch (dtype) {
        case APH_DTYPE_F32: return {t.dot_f32, ActKind::F32};
        case APH_DTYPE_F16: return {t.dot_f16, ActKind::F32};
        case APH_DTYPE_BF16: return {t.dot_bf16, ActKind::F32};
        case APH_DTYPE_Q4_0: return {t.dot_q4_0, ActKind::Q8_32, t.rows_q4_0};
        case APH_DTYPE_Q4_1: return {t.dot_q4_1, ActKind::Q8_32, t.rows_q4_1};
        case APH_DTYPE_Q5_0: return {t.dot_q5_0, ActKind::Q8_32, t.rows_q5_0};
        case APH_DTYPE_Q5_1: return {t.dot_q5_1, ActKind::Q8_32, t.rows_q5_1};
        case APH_DTYPE_Q8_0: return {t.dot_q8_0, ActKind::Q8_32, t.rows_q8_0};
        case APH_DTYPE_Q4_K: return {t.dot_q4_K, ActKind::Q8_K};
        case APH_DTYPE_Q5_K: return {t.dot_q5_K, ActKind::Q8_K};
        case APH_DTYPE_Q6_K: return {t.dot_q6_K, ActKind::Q8_K};
        case APH_DTYPE_APR_Q4: return {dot_apr_dequant<APH_DTYPE_APR_Q4>, ActKind::F32};
        case APH_DTYPE_APR_Q8: return {dot_apr_dequant<APH_DTYPE_APR_Q8>, ActKind::F32};
        default: return {};
    }
}

int threads_for_work(const OpEnv& env, double work) {
    // ~64K multiply-adds is a few microseconds: below that the wake-up of the other threads does not pay.
    if (work < 65536.0) return 1;
    return env.pool.size();
}

void op_mul_mat(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& w = g.tensors[node.src[0]];
    const aph_tensor& x = g.tensors[node.src[1]];
    const aph_tensor& d = g.tensors[node.dst];
    const float* bias = node.src[2] >= 0 ? reinterpret_cast<const float*>(tensor_base(g.tensors[node.src[2]])) : nullptr;

    const int64_t k = w.ne[0];
    const int64_t m = w.ne[1];
    const int64_t ncols = tensor_rows(x);
    if (k == 0 || m == 0 || ncols == 0) return;
    const DotKernel dk = dot_kernel_for(env.k, w.dtype);
    const size_t col_bytes = act_col_bytes(dk.act, k);

    env.col_src.resize(static_cast<size_t>(ncols));
    env.col_dst.resize(static_cast<size_t>(ncols));
    uint8_t* act = col_bytes ? env.act.reserve(col_bytes * static_cast<size_t>(ncols)) : nullptr;
    for (int64_t j = 0; j < ncols; ++j) {
        env.col_src[j] = col_bytes ? static_cast<const void*>(act + col_bytes * j) : tensor_flat_row(x, j);
        env.col_dst[j] = reinterpret_cast<float*>(tensor_flat_row(d, j));
    }

    const uint8_t* wbase = tensor_base(w);
    const int64_t wstride = w.nb[1];
    const int nth = threads_for_work(env, static_cast<double>(k) * static_cast<double>(m) * static_cast<double>(ncols));
    const int64_t row_bytes = static_cast<int64_t>(aprhost::ref::row_bytes(w.dtype, k));
    const int64_t target = ncols <= kMaxTileCols ? kChunkBytesDecode : kChunkBytesPrefill;
    // At least ~4 chunks per thread so that a thread the OS delays does not hold up the op.
    const int64_t chunk_rows =
        std::max<int64_t>(1, std::min(target / std::max<int64_t>(row_bytes, 1), (m + 4 * nth - 1) / (4 * nth)));

    // Quantizes blocks [b0, b1) of the flattened column × block grid.
    const int64_t bk = dk.act == ActKind::Q8_K ? 256 : 32;
    const int64_t nb = k / bk;
    auto quantize_range = [&](int64_t b0, int64_t b1) {
        while (b0 < b1) {
            const int64_t j = b0 / nb, jb = b0 % nb;
            const int64_t cnt = std::min(b1 - b0, nb - jb);
            const float* src = reinterpret_cast<const float*>(tensor_flat_row(x, j)) + jb * bk;
            if (dk.act == ActKind::Q8_K) {
                env.k.quantize_actk(src, reinterpret_cast<ActBlockK*>(act + col_bytes * j) + jb, cnt * bk);
            } else {
                env.k.quantize_act32(src, reinterpret_cast<ActBlock32*>(act + col_bytes * j) + jb, cnt * bk);
            }
            b0 += cnt;
        }
    };
    if (col_bytes) {
        if (nth == 1 || ncols * k <= kSerialQuantizeElems) {
            quantize_range(0, ncols * nb);
        } else {
            env.pool.parallel_for(ncols * nb, std::max<int64_t>(1, 4096 / bk), nth,
                                  [&](int, int64_t b0, int64_t b1) { quantize_range(b0, b1); });
        }
    }

    // Row chunks × column blocks × rows × column tiles.
    env.pool.parallel_for(m, chunk_rows, nth, [&](int, int64_t r0, int64_t r1) {
        float out[kMaxTileCols];
        for (int64_t c0 = 0; c0 < ncols; c0 += kColBlock) {
            const int64_t c1 = std::min(ncols, c0 + kColBlock);
            if (dk.rows) {
                // Row-range kernel: one call per column tile covers the whole chunk (same bits as per-row calls).
                for (int64_t c = c0; c < c1; c += kMaxTileCols) {
                    const int nc = static_cast<int>(std::min<int64_t>(kMaxTileCols, c1 - c));
                    float* dst[kMaxTileCols];
                    for (int t = 0; t < nc; ++t) dst[t] = env.col_dst[c + t] + r0;
                    dk.rows(k, wbase + r0 * wstride, wstride, r1 - r0, env.col_src.data() + c, nc, dst,
                            bias ? bias + r0 : nullptr);
                }
                continue;
            }
            for (int64_t r = r0; r < r1; ++r) {
                const uint8_t* wrow = wbase + r * wstride;
                const float b = bias ? bias[r] : 0.0f;
                for (int64_t c = c0; c < c1; c += kMaxTileCols) {
                    const int nc = static_cast<int>(std::min<int64_t>(kMaxTileCols, c1 - c));
                    dk.fn(k, wrow, env.col_src.data() + c, nc, out);
                    for (int t = 0; t < nc; ++t) env.col_dst[c + t][r] = bias ? out[t] + b : out[t];
                }
            }
        }
    });
}

}  // namespace aprhost::cpu
