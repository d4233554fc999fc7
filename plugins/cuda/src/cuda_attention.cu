// ATTENTION: causal GQA for one sequence over its block table (contiguous and paged caches alike), K/V cache f32,
// f16 or bf16. Semantics: abi.h APH_OP_ATTENTION and aprhost::ref::attention (f32 here, max-subtracted softmax).
//
// n_kv is read from device memory (OpContext::step_params), never from the node's iparams, so the kernels of a
// captured CUDA graph see the sequence grow. The grids depend only on the graph's structure (heads, queries, cache
// slots), never on n_kv.
//
// Decode (one query): flash-decoding. Pass 1, grid (heads, splits, queries): each block walks its share of the
// visible entries (split_range), 4 warps with an online softmax each, one warp-wide dot per entry; the block merges
// its warps and writes (max, sum, unnormalised output) to the workspace. Pass 2, grid (heads, queries): merges the
// splits with the usual rescaling. Splits are fixed per structure (attention_split_count), so short contexts have
// small splits rather than idle blocks.
// Prefill (several queries): tiled, grid (heads, ⌈n/16⌉): 16 queries × 32 entries per tile in shared memory, online
// softmax per query row, tiles past the last query's causal limit are skipped.
// A block-table entry that points outside the cache raises DEVICE_ERROR_BLOCK_TABLE (reported at synchronize).
#include "cuda_device_util.cuh"
#include "cuda_ops.hpp"

#include <cmath>

namespace aprhost::cuda {

namespace {

constexpr int kSplitThreads = 128;  // 4 warps
constexpr int kSplitWarps = kSplitThreads / 32;
constexpr int kMaxPerLane = static_cast<int>(kAttentionMaxHeadDim / 32);
constexpr int kTileQ = 16, kTileK = 32, kTileThreads = 128;
constexpr int kTileCols = static_cast<int>(kAttentionMaxHeadDim / kTileThreads);  // columns per thread

struct AttnArgs {
    View q, k, v, out;
    uint32_t k_dtype, v_dtype;
    const int32_t* table;
    int64_t block_size;
    const int32_t* n_kv;  // device
    float scale;
    unsigned* error_word;
};

// Address of the head-g part of kv entry i's cache row, or nullptr (and the error bit) when its slot is outside.
__device__ __forceinline__ const char* kv_row(const View& c, int64_t elem_bytes, const AttnArgs& a, int64_t i,
                                              int64_t g, int64_t hd) {
    const int64_t slot = kv_slot(a.table, a.block_size, i);
    if (slot < 0 || slot >= c.ne[1]) {
        raise_device_error(a.error_word, DEVICE_ERROR_BLOCK_TABLE);
        return nullptr;
    }
    return c.base + slot * c.nb[1] + g * hd * elem_bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// Flash-decoding, pass 1.
// ---------------------------------------------------------------------------------------------------------------
__global__ void __launch_bounds__(kSplitThreads) attn_split_kernel(AttnArgs a, int64_t n_splits, float* part,
                                                                   float* part_ml) {
    __shared__ float warp_m[kSplitWarps], warp_l[kSplitWarps];
    __shared__ float warp_acc[kSplitWarps][kAttentionMaxHeadDim];
    const int64_t hd = a.q.ne[0], heads = a.q.ne[1], n = a.q.ne[2];
    const int64_t h = blockIdx.x, split = blockIdx.y, j = blockIdx.z;
    const int64_t kv_heads = a.k.ne[0] / hd, g = h / (heads / kv_heads);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int64_t keb = float_dtype_bytes(a.k_dtype), veb = float_dtype_bytes(a.v_dtype);

    const int64_t n_kv = *a.n_kv;
    SplitRange range{0, 0};
    if (n_kv < n) {
        if (threadIdx.x == 0 && h == 0 && split == 0 && j == 0) raise_device_error(a.error_word, DEVICE_ERROR_N_KV);
    } else {
        range = split_range(attention_visible(n_kv, n, j), n_splits, split);
    }

    const float* qv = reinterpret_cast<const float*>(a.q.base + h * a.q.nb[1] + j * a.q.nb[2]);
    float qr[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
    for (int t = 0; t < kMaxPerLane; ++t) {
        const int64_t c = lane + 32 * t;
        qr[t] = c < hd ? qv[c] : 0.0f;
        acc[t] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int64_t i = range.begin + warp; i < range.end; i += kSplitWarps) {
        const char* kr = kv_row(a.k, keb, a, i, g, hd);
        const char* vr = kv_row(a.v, veb, a, i, g, hd);
        if (kr == nullptr || vr == nullptr) continue;  // uniform across the warp (same i)
        // K and V loads are issued together (V does not depend on the score), then the warp-wide dot.
        float kv[kMaxPerLane], vv[kMaxPerLane];
#pragma unroll
        for (int t = 0; t < kMaxPerLane; ++t) {
            const int64_t c = lane + 32 * t;
            kv[t] = c < hd ? load_float(kr + c * keb, a.k_dtype) : 0.0f;
            vv[t] = c < hd ? load_float(vr + c * veb, a.v_dtype) : 0.0f;
        }
        float dot = 0.0f;
#pragma unroll
        for (int t = 0; t < kMaxPerLane; ++t) dot += qr[t] * kv[t];
        const SoftmaxStep st = softmax_step(m, l, warp_sum(dot) * a.scale);
#pragma unroll
        for (int t = 0; t < kMaxPerLane; ++t) acc[t] = acc[t] * st.corr + st.p * vv[t];
    }
    // Merge the warps.
    if (lane == 0) {
        warp_m[warp] = m;
        warp_l[warp] = l;
    }
#pragma unroll
    for (int t = 0; t < kMaxPerLane; ++t) {
        const int64_t c = lane + 32 * t;
        if (c < hd) warp_acc[warp][c] = acc[t];
    }
    __syncthreads();
    float bm = -INFINITY;
    for (int w = 0; w < kSplitWarps; ++w) bm = fmaxf(bm, warp_m[w]);
    float wscale[kSplitWarps];
    float bl = 0.0f;
#pragma unroll
    for (int w = 0; w < kSplitWarps; ++w) {
        wscale[w] = softmax_merge_weight(warp_m[w], bm);
        bl += warp_l[w] * wscale[w];
    }
    const int64_t slot = (j * heads + h) * n_splits + split;
    for (int64_t c = threadIdx.x; c < hd; c += blockDim.x) {
        float v = 0.0f;
#pragma unroll
        for (int w = 0; w < kSplitWarps; ++w) v += warp_acc[w][c] * wscale[w];
        part[slot * hd + c] = v;
    }
    if (threadIdx.x == 0) {
        part_ml[slot * 2 + 0] = bm;  // −∞ for an empty split
        part_ml[slot * 2 + 1] = bl;
    }
}

// Flash-decoding, pass 2: merge the splits of (head, query).
__global__ void attn_merge_kernel(AttnArgs a, int64_t n_splits, const float* part, const float* part_ml) {
    const int64_t hd = a.q.ne[0], heads = a.q.ne[1];
    const int64_t h = blockIdx.x, j = blockIdx.y;
    const int64_t base = (j * heads + h) * n_splits;
    float gm = -INFINITY;
    for (int64_t s = 0; s < n_splits; ++s) gm = fmaxf(gm, part_ml[(base + s) * 2]);
    float gl = 0.0f;
    for (int64_t s = 0; s < n_splits; ++s)
        gl += part_ml[(base + s) * 2 + 1] * softmax_merge_weight(part_ml[(base + s) * 2], gm);
    float* o = reinterpret_cast<float*>(a.out.base + h * a.out.nb[1] + j * a.out.nb[2]);
    for (int64_t c = threadIdx.x; c < hd; c += blockDim.x) {
        float v = 0.0f;
        for (int64_t s = 0; s < n_splits; ++s)
            v += part[(base + s) * hd + c] * softmax_merge_weight(part_ml[(base + s) * 2], gm);
        o[c] = gl > 0.0f ? v / gl : 0.0f;  // gl = 0 only after a reported n_kv error
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tiled attention for several queries.
// ---------------------------------------------------------------------------------------------------------------
struct TileLayout {
    int64_t q, k, v, s, m, l, corr, floats;
};
__host__ __device__ inline TileLayout tile_layout(int64_t hd) {
    TileLayout t{};
    t.q = 0;
    t.k = t.q + kTileQ * hd;
    t.v = t.k + kTileK * (hd + 1);  // +1: a warp reads one column of 32 different K rows, no bank conflicts
    t.s = t.v + kTileK * hd;
    t.m = t.s + kTileQ * (kTileK + 1);
    t.l = t.m + kTileQ;
    t.corr = t.l + kTileQ;
    t.floats = t.corr + kTileQ;
    return t;
}

__global__ void __launch_bounds__(kTileThreads) attn_tiled_kernel(AttnArgs a) {
    extern __shared__ float smem[];
    const int64_t hd = a.q.ne[0], heads = a.q.ne[1], n = a.q.ne[2];
    const int64_t h = blockIdx.x, j0 = static_cast<int64_t>(blockIdx.y) * kTileQ;
    const int64_t kv_heads = a.k.ne[0] / hd, g = h / (heads / kv_heads);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int64_t keb = float_dtype_bytes(a.k_dtype), veb = float_dtype_bytes(a.v_dtype);
    const TileLayout L = tile_layout(hd);
    float* Qs = smem + L.q;
    float* Ks = smem + L.k;
    float* Vs = smem + L.v;
    float* S = smem + L.s;
    float* Ms = smem + L.m;
    float* Ls = smem + L.l;
    float* Cs = smem + L.corr;

    const int64_t n_kv = *a.n_kv;
    if (n_kv < n) {
        if (tid == 0 && h == 0 && j0 == 0) raise_device_error(a.error_word, DEVICE_ERROR_N_KV);
        return;  // the output stays as it was; the error is reported at synchronize
    }
    for (int64_t idx = tid; idx < kTileQ * hd; idx += blockDim.x) {
        const int64_t qi = idx / hd, c = idx % hd, j = j0 + qi;
        Qs[idx] = j < n ? reinterpret_cast<const float*>(a.q.base + h * a.q.nb[1] + j * a.q.nb[2])[c] : 0.0f;
    }
    if (tid < kTileQ) {
        Ms[tid] = -INFINITY;
        Ls[tid] = 0.0f;
    }
    float acc[kTileQ][kTileCols];
#pragma unroll
    for (int qi = 0; qi < kTileQ; ++qi)
#pragma unroll
        for (int cc = 0; cc < kTileCols; ++cc) acc[qi][cc] = 0.0f;

    const int64_t j_last = (j0 + kTileQ < n ? j0 + kTileQ : n) - 1;
    const int64_t kv_end = attention_visible(n_kv, n, j_last);
    for (int64_t t0 = 0; t0 < kv_end; t0 += kTileK) {
        __syncthreads();  // the previous tile's K/V/S are no longer read
        for (int64_t idx = tid; idx < kTileK * hd; idx += blockDim.x) {
            const int64_t kj = idx / hd, c = idx % hd, i = t0 + kj;
            float kval = 0.0f, vval = 0.0f;
            if (i < kv_end) {
                const char* kr = kv_row(a.k, keb, a, i, g, hd);
                const char* vr = kv_row(a.v, veb, a, i, g, hd);
                if (kr && vr) {
                    kval = load_float(kr + c * keb, a.k_dtype);
                    vval = load_float(vr + c * veb, a.v_dtype);
                }
            }
            Ks[kj * (hd + 1) + c] = kval;
            Vs[kj * hd + c] = vval;
        }
        __syncthreads();
        // Scores: a warp takes one query row and its 32 entries (lane = entry).
        for (int64_t idx = tid; idx < kTileQ * kTileK; idx += blockDim.x) {
            const int64_t qi = idx / kTileK, kj = idx % kTileK;
            const int64_t j = j0 + qi, i = t0 + kj;
            float s = -INFINITY;
            if (j < n && i < attention_visible(n_kv, n, j)) {
                float dot = 0.0f;
                for (int64_t c = 0; c < hd; ++c) dot += Qs[qi * hd + c] * Ks[kj * (hd + 1) + c];
                s = dot * a.scale;
            }
            S[qi * (kTileK + 1) + kj] = s;
        }
        __syncthreads();
        // Online softmax per row: warp w takes rows w, w+4, ...; lane = entry.
        for (int qi = warp; qi < kTileQ; qi += kTileThreads / 32) {
            const float s = S[qi * (kTileK + 1) + lane];
            const float m_old = Ms[qi];
            const float m_new = fmaxf(m_old, warp_max(s));
            float p = 0.0f, corr = 1.0f;
            if (m_new != -INFINITY) {
                p = expf(s - m_new);
                corr = expf(m_old - m_new);
            }
            const float sum = warp_sum(p);
            S[qi * (kTileK + 1) + lane] = p;
            __syncwarp();
            if (lane == 0) {
                Ls[qi] = Ls[qi] * corr + sum;
                Ms[qi] = m_new;
                Cs[qi] = corr;
            }
        }
        __syncthreads();
        // O = O·corr + P·V; thread tid owns columns tid, tid + 128.
#pragma unroll
        for (int cc = 0; cc < kTileCols; ++cc) {
            const int64_t c = tid + cc * kTileThreads;
            if (c >= hd) continue;
#pragma unroll
            for (int qi = 0; qi < kTileQ; ++qi) {
                float v = acc[qi][cc] * Cs[qi];
                for (int kj = 0; kj < kTileK; ++kj) v += S[qi * (kTileK + 1) + kj] * Vs[kj * hd + c];
                acc[qi][cc] = v;
            }
        }
    }
    __syncthreads();
#pragma unroll
    for (int cc = 0; cc < kTileCols; ++cc) {
        const int64_t c = tid + cc * kTileThreads;
        if (c >= hd) continue;
#pragma unroll
        for (int qi = 0; qi < kTileQ; ++qi) {
            const int64_t j = j0 + qi;
            if (j >= n) continue;
            float* o = reinterpret_cast<float*>(a.out.base + h * a.out.nb[1] + j * a.out.nb[2]);
            o[c] = Ls[qi] > 0.0f ? acc[qi][cc] / Ls[qi] : 0.0f;
        }
    }
}

size_t tile_smem_bytes(int64_t hd) { return static_cast<size_t>(tile_layout(hd).floats) * sizeof(float); }

AttnArgs make_args(const OpContext& ctx, const aph_graph& g, const aph_node& n, int param_index) {
    AttnArgs a{};
    a.q = make_view(g, n.src[0]);
    a.k = make_view(g, n.src[1]);
    a.v = make_view(g, n.src[2]);
    a.out = make_view(g, n.dst);
    a.k_dtype = g.tensors[n.src[1]].dtype;
    a.v_dtype = g.tensors[n.src[2]].dtype;
    a.table = reinterpret_cast<const int32_t*>(make_view(g, n.src[3]).base);
    a.block_size = n.iparams[1];
    a.n_kv = ctx.step_params + param_index;
    a.scale = n.fparams[0];
    a.error_word = ctx.error_word;
    return a;
}

int64_t split_count(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    const aph_tensor& q = g.tensors[n.src[0]];
    const aph_tensor& k = g.tensors[n.src[1]];
    return attention_split_count(caps.n_sms, q.ne[1], q.ne[2], k.ne[1]);
}

bool use_split_path(const aph_graph& g, const aph_node& n) { return g.tensors[n.src[0]].ne[2] == 1; }

}  // namespace

size_t attention_workspace_bytes(const DeviceCaps& caps, const aph_graph& g, const aph_node& n) {
    if (!use_split_path(g, n)) return 0;
    const aph_tensor& q = g.tensors[n.src[0]];
    const int64_t splits = split_count(caps, g, n);
    const int64_t slots = q.ne[1] * q.ne[2] * splits;
    // Partial outputs, then (max, sum) pairs; 256-byte alignment of the second array.
    const size_t acc_bytes = (static_cast<size_t>(slots * q.ne[0]) * sizeof(float) + 255) / 256 * 256;
    return acc_bytes + static_cast<size_t>(slots) * 2 * sizeof(float);
}

void attention_prepare_device(const DeviceCaps& caps) {
    const size_t need = tile_smem_bytes(kAttentionMaxHeadDim);
    const size_t allowed = caps.shared_mem_per_block_optin;
    const size_t limit = need < allowed ? need : allowed;
    if (limit > 48 * 1024)
        APRHOST_CUDA_CHECK(cudaFuncSetAttribute(attn_tiled_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                static_cast<int>(limit)));
}

size_t attention_tile_smem_bytes(int64_t head_dim) { return tile_smem_bytes(head_dim); }

void launch_attention(const OpContext& ctx, const aph_graph& g, const aph_node& n, int param_index) {
    const AttnArgs a = make_args(ctx, g, n, param_index);
    const int64_t heads = a.q.ne[1], nq = a.q.ne[2];
    if (heads == 0 || nq == 0) return;
    if (use_split_path(g, n)) {
        const int64_t splits = split_count(*ctx.lc.caps, g, n);
        const size_t need = attention_workspace_bytes(*ctx.lc.caps, g, n);
        if (ctx.lc.workspace == nullptr || ctx.lc.workspace_bytes < need)
            throw CudaError("attention: workspace of " + std::to_string(ctx.lc.workspace_bytes) + " bytes, need " +
                                std::to_string(need),
                            cudaErrorInvalidValue);
        float* part = static_cast<float*>(ctx.lc.workspace);
        const size_t acc_bytes =
            (static_cast<size_t>(heads * nq * splits * a.q.ne[0]) * sizeof(float) + 255) / 256 * 256;
        float* part_ml = reinterpret_cast<float*>(static_cast<char*>(ctx.lc.workspace) + acc_bytes);
        attn_split_kernel<<<dim3(static_cast<unsigned>(heads), static_cast<unsigned>(splits),
                                 static_cast<unsigned>(nq)),
                            kSplitThreads, 0, ctx.lc.stream>>>(a, splits, part, part_ml);
        cuda_check_launch("attn_split_kernel");
        attn_merge_kernel<<<dim3(static_cast<unsigned>(heads), static_cast<unsigned>(nq)), 128, 0,
                            ctx.lc.stream>>>(a, splits, part, part_ml);
        cuda_check_launch("attn_merge_kernel");
        return;
    }
    const unsigned q_tiles = static_cast<unsigned>((nq + kTileQ - 1) / kTileQ);
    attn_tiled_kernel<<<dim3(static_cast<unsigned>(heads), q_tiles), kTileThreads, tile_smem_bytes(a.q.ne[0]),
                        ctx.lc.stream>>>(a);
    cuda_check_launch("attn_tiled_kernel");
}

}  // namespace aprhost::cuda
