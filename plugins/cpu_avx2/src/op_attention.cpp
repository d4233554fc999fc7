// KV_STORE and ATTENTION drivers.
//
// ATTENTION works on (query, kv-head range) items claimed dynamically by the pool's threads; each item is computed
// entirely by one thread, and each of its query heads in a fixed order: scores s_i = scale · q·k_i for kv entries
// 0..L−1 (L = n_kv − n + j + 1), the max, p_i = exp(s_i − max) and their sum, out = Σ p_i · v_i (in order of i),
// out /= sum. The kernels' lane layouts depend only on L and head_dim.
// Nothing in that sequence depends on n, on the other queries or on the thread, so query j of a batch gives the
// same bits as the same query run alone (the KV-cache parity invariant).
#include "ops.hpp"
#include "tensor_view.hpp"

#include <aprhost/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace aprhost::cpu {

namespace {

// Slot of kv entry i through the block table.
inline int64_t kv_slot(const int32_t* table, int64_t block_size, int64_t i) {
    return static_cast<int64_t>(table[i / block_size]) * block_size + i % block_size;
}

// Converts one f32 row into a row of dtype (f32 or f16).
inline void store_row(const KernelTable& k, uint32_t dtype, const float* src, uint8_t* dst, int64_t n) {
    if (dtype == APH_DTYPE_F16) {
        k.f32_to_f16_row(src, reinterpret_cast<uint16_t*>(dst), n);
    } else {
        std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    }
}

}  // namespace

void op_kv_store(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& src = g.tensors[node.src[0]];
    const aph_tensor& slots_t = g.tensors[node.src[1]];
    const aph_tensor& cache = g.tensors[node.dst];
    const auto* slots = reinterpret_cast<const int32_t*>(tensor_base(slots_t));
    // src is [head_dim, kv_heads, n] (per_head) or rows that are whole cache rows: one token = one cache row.
    const bool per_head = src.ne[0] != cache.ne[0];
    const int64_t n = slots_t.ne[0];
    const int64_t heads = per_head ? src.ne[1] : 1;
    const int64_t row = src.ne[0];
    for (int64_t t = 0; t < n; ++t) {
        if (slots[t] < 0 || slots[t] >= cache.ne[1])
            throw sdk::Error(APH_STATUS_INVALID_ARGUMENT, "KV_STORE: slot " + std::to_string(slots[t]) +
                                                              " of token " + std::to_string(t) + " outside the " +
                                                              std::to_string(cache.ne[1]) + " cache slots");
    }
    const int64_t elem = cache.dtype == APH_DTYPE_F16 ? 2 : 4;
    const int nth = threads_for_work(env, static_cast<double>(n * heads * row) * 4.0);
    env.pool.parallel_for(n, chunk_for(n, nth), nth, [&](int, int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            uint8_t* dst_row = tensor_row(cache, slots[t]);
            for (int64_t h = 0; h < heads; ++h) {
                const auto* s = reinterpret_cast<const float*>(per_head ? tensor_row(src, h, t) : tensor_flat_row(src, t));
                store_row(env.k, cache.dtype, s, dst_row + h * row * elem, row);
            }
        }
    });
}

void op_attention(OpEnv& env, const aph_graph& g, const aph_node& node) {
    const aph_tensor& q = g.tensors[node.src[0]];
    const aph_tensor& kc = g.tensors[node.src[1]];
    const aph_tensor& vc = g.tensors[node.src[2]];
    const aph_tensor& tab = g.tensors[node.src[3]];
    const aph_tensor& d = g.tensors[node.dst];
    const int64_t head_dim = q.ne[0], heads = q.ne[1], n = q.ne[2];
    const int64_t kv_heads = kc.ne[0] / head_dim;
    const int64_t group = heads / kv_heads;
    const int64_t n_kv = node.iparams[0];
    const int64_t block_size = node.iparams[1];
    const float scale = node.fparams[0];
    const auto* table = reinterpret_cast<const int32_t*>(tensor_base(tab));

    // Validate every slot we are going to touch before any thread starts.
    const int64_t n_blocks = (n_kv + block_size - 1) / block_size;
    for (int64_t b = 0; b < n_blocks; ++b) {
        const int64_t last = std::min(block_size, n_kv - b * block_size) - 1;
        const int64_t first_slot = static_cast<int64_t>(table[b]) * block_size;
        if (table[b] < 0 || first_slot + last >= kc.ne[1] || first_slot + last >= vc.ne[1])
            throw sdk::Error(APH_STATUS_INVALID_ARGUMENT,
                             "ATTENTION: block table entry " + std::to_string(b) + " = " + std::to_string(table[b]) +
                                 " addresses slots outside the cache (" + std::to_string(kc.ne[1]) + " slots)");
    }

    // Items are (query, range of kv heads): decode (few queries) splits the kv heads over the threads, prefill has
    // one range per query. Per kv head of an item, its query heads go through three kernels over the item's
    // resolved cache-row offsets together: scores, softmax (max + exp_sum per head), weighted sum of V rows. The
    // kernels walk the rows in L1-sized blocks serving every head of the group, so GQA reads each row once.
    const int nth = threads_for_work(
        env, static_cast<double>(heads * n) * static_cast<double>(n_kv) * static_cast<double>(head_dim) * 2);
    const int64_t n_ranges = n >= 2 * nth ? 1 : std::min<int64_t>(kv_heads, nth);
    const int64_t n_items = n * n_ranges;
    const size_t scratch = static_cast<size_t>(group * (n_kv + head_dim));  // per thread: scores + outputs
    for (auto& sc : env.thread_scratch)
        if (sc.size() < scratch) sc.resize(scratch);
    for (auto& off : env.thread_offsets)
        if (off.size() < static_cast<size_t>(2 * n_kv)) off.resize(static_cast<size_t>(2 * n_kv));
    const bool k_f16 = kc.dtype == APH_DTYPE_F16, v_f16 = vc.dtype == APH_DTYPE_F16;
    const int64_t k_elem = k_f16 ? 2 : 4, v_elem = v_f16 ? 2 : 4;
    const KernelTable& kt = env.k;

    env.pool.parallel_for(n_items, 1, nth, [&](int ith, int64_t i0, int64_t i1) {
        float* p = env.thread_scratch[static_cast<size_t>(ith)].data();  // [group][len] scores, then probabilities
        float* acc = p + group * n_kv;                                   // [group][head_dim]
        int64_t* k_off = env.thread_offsets[static_cast<size_t>(ith)].data();
        int64_t* v_off = k_off + n_kv;
        std::vector<const float*> qrows(static_cast<size_t>(group));  // the group's query rows
        std::vector<float> sums(static_cast<size_t>(group));          // softmax denominators
        for (int64_t item = i0; item < i1; ++item) {
            const int64_t j = item / n_ranges, r = item % n_ranges;
            const int64_t kh0 = kv_heads * r / n_ranges, kh1 = kv_heads * (r + 1) / n_ranges;
            const int64_t len = n_kv - n + j + 1;
            for (int64_t i = 0; i < len; ++i) {
                const int64_t slot = kv_slot(table, block_size, i);
                k_off[i] = slot * kc.nb[1];
                v_off[i] = slot * vc.nb[1];
            }
            for (int64_t kvh = kh0; kvh < kh1; ++kvh) {
                for (int64_t g = 0; g < group; ++g)
                    qrows[static_cast<size_t>(g)] = reinterpret_cast<const float*>(tensor_row(q, kvh * group + g, j));
                kt.attn_scores(qrows.data(), group, tensor_base(kc) + kvh * head_dim * k_elem, k_off, len, head_dim,
                               k_f16, scale, p);
                for (int64_t g = 0; g < group; ++g) {
                    float* pg = p + g * len;
                    float mx = -INFINITY;
                    for (int64_t i = 0; i < len; ++i) mx = std::max(mx, pg[i]);
                    sums[static_cast<size_t>(g)] = kt.exp_sum(pg, len, mx);
                }
                kt.attn_weighted_sum(p, group, tensor_base(vc) + kvh * head_dim * v_elem, v_off, len, head_dim, v_f16,
                                     acc);
                for (int64_t g = 0; g < group; ++g)
                    kt.scale_row(acc + g * head_dim, 1.0f / sums[static_cast<size_t>(g)],
                                 reinterpret_cast<float*>(tensor_row(d, kvh * group + g, j)), head_dim);
            }
        }
    });
}

}  // namespace aprhost::cpu
