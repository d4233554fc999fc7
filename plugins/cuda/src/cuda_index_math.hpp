// Index arithmetic shared by the CUDA kernels and the host: tensor views as (base, ne, nb), rows of a view, the KV
// slot of a block-table entry, RoPE pairs and angles, the flash-decoding split of a sequence. Everything is
// __host__ __device__ (plain inline functions under a host compiler), so tests/cuda checks it on a machine without
// a GPU. No CUDA runtime types.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define APH_HD __host__ __device__ __forceinline__
#else
#define APH_HD inline
#endif

namespace aprhost::cuda {

// A tensor view as the kernels see it: device address of element 0, extents and byte strides (innermost first;
// nb[0] is the element or block size, rows are contiguous).
struct View {
    char* base = nullptr;
    int64_t ne[4] = {1, 1, 1, 1};
    int64_t nb[4] = {0, 0, 0, 0};
};

// Rows of a view (ne[1]·ne[2]·ne[3]).
APH_HD int64_t view_rows(const View& v) { return v.ne[1] * v.ne[2] * v.ne[3]; }

// Byte offset of flattened row r = i1 + ne1·(i2 + ne2·i3).
APH_HD int64_t view_row_offset(const View& v, int64_t r) {
    const int64_t i1 = r % v.ne[1];
    const int64_t r2 = r / v.ne[1];
    const int64_t i2 = r2 % v.ne[2];
    const int64_t i3 = r2 / v.ne[2];
    return i1 * v.nb[1] + i2 * v.nb[2] + i3 * v.nb[3];
}

// Byte offset of the row of `b` that is added to row r of `a` under ADD's broadcast (b.ne[i] == 1 repeats).
APH_HD int64_t broadcast_row_offset(const View& a, const View& b, int64_t r) {
    const int64_t i1 = r % a.ne[1];
    const int64_t r2 = r / a.ne[1];
    const int64_t i2 = r2 % a.ne[2];
    const int64_t i3 = r2 / a.ne[2];
    return (b.ne[1] == 1 ? 0 : i1) * b.nb[1] + (b.ne[2] == 1 ? 0 : i2) * b.nb[2] + (b.ne[3] == 1 ? 0 : i3) * b.nb[3];
}

// Byte offset of flat element e (row-major over the view's own extents) for a view of elem_bytes-sized elements.
APH_HD int64_t view_elem_offset(const View& v, int64_t e, int64_t elem_bytes) {
    return view_row_offset(v, e / v.ne[0]) + (e % v.ne[0]) * elem_bytes;
}

// Cache slot of kv entry i of a sequence (APH_OP_ATTENTION): table[i / block_size]·block_size + i % block_size.
APH_HD int64_t kv_slot(const int32_t* table, int64_t block_size, int64_t i) {
    return static_cast<int64_t>(table[i / block_size]) * block_size + i % block_size;
}

// The two dims rotated together by RoPE pair i (0 ≤ i < n_rot/2): NORM rotates (2i, 2i+1), NEOX (i, i + n_rot/2).
struct RopePair {
    int64_t i0, i1;
};
APH_HD RopePair rope_pair(int mode, int64_t n_rot, int64_t i) {
    return mode == 0 ? RopePair{2 * i, 2 * i + 1} : RopePair{i, i + n_rot / 2};
}

// Exponent of freq_base for pair i: theta_i = pos·freq_scale·freq_base^(−2i/n_rot) (formed in double on device).
APH_HD double rope_exponent(int64_t i, int64_t n_rot) {
    return -2.0 * static_cast<double>(i) / static_cast<double>(n_rot);
}

// Kv entries visible to query j of n queries over n_kv entries (causal; queries are the last n entries).
APH_HD int64_t attention_visible(int64_t n_kv, int64_t n, int64_t j) { return n_kv - n + j + 1; }

// Flash-decoding: split `split` of n_splits gets the entries [begin, end) of `visible`; chunks are balanced
// (⌈visible / n_splits⌉ each, the tail splits may be empty: begin ≥ end).
struct SplitRange {
    int64_t begin, end;
};
APH_HD SplitRange split_range(int64_t visible, int64_t n_splits, int64_t split) {
    const int64_t chunk = (visible + n_splits - 1) / n_splits;
    int64_t b = split * chunk;
    int64_t e = b + chunk;
    if (b > visible) b = visible;
    if (e > visible) e = visible;
    return SplitRange{b, e};
}

// How many splits a decode attention node uses: enough blocks to cover the GPU twice over (heads·queries·splits
// ≥ 2·SMs), at most one split per 32 cache slots (the most entries a sequence can have) and at most 64. Fixed per
// graph structure, so a captured CUDA graph keeps its grid while n_kv grows (the split sizes follow n_kv).
APH_HD int64_t attention_split_count(int64_t n_sms, int64_t heads, int64_t n_queries, int64_t cache_slots) {
    const int64_t blocks = heads * n_queries > 0 ? heads * n_queries : 1;
    int64_t s = (2 * n_sms + blocks - 1) / blocks;
    const int64_t by_slots = (cache_slots + 31) / 32;
    if (s > by_slots) s = by_slots;
    if (s > 64) s = 64;
    if (s < 1) s = 1;
    return s;
}

// One step of an online (streaming) softmax: fold score s into the running max m and denominator l. Returns the
// factor the running weighted sum must be scaled by (corr) and the new entry's weight (p), both relative to the
// new max. m starts at −∞ and l at 0; the first step gives corr = 0.
struct SoftmaxStep {
    float corr, p;
};
APH_HD SoftmaxStep softmax_step(float& m, float& l, float s) {
    const float m_new = fmaxf(m, s);
    const float corr = m == -INFINITY ? 0.0f : expf(m - m_new);
    const float p = expf(s - m_new);
    l = l * corr + p;
    m = m_new;
    return SoftmaxStep{corr, p};
}

// Weight of a partial result with running max m_part when partials are merged under the overall max m_total
// (empty partials have m_part = −∞ and weigh 0).
APH_HD float softmax_merge_weight(float m_part, float m_total) {
    return m_part == -INFINITY ? 0.0f : expf(m_part - m_total);
}

// Error bits kernels raise in the context's device error word (read by the host after a synchronize).
enum DeviceErrorBits : unsigned {
    DEVICE_ERROR_KV_SLOT = 1u << 0,      // KV_STORE slot outside the cache
    DEVICE_ERROR_BLOCK_TABLE = 1u << 1,  // ATTENTION block-table entry outside the cache
    DEVICE_ERROR_N_KV = 1u << 2          // ATTENTION n_kv in the step params smaller than the query count
};

}  // namespace aprhost::cuda
