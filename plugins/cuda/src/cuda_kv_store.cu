// KV_STORE: token t's K or V row (head_dim·kv_heads f32, from src0 [head_dim, kv_heads, n] or from rows that are
// whole cache rows) rounded into cache row slots[t] (f32 / f16 / bf16, round-to-nearest-even). Slots come from
// device memory (uploaded each step). A slot outside the cache is not written; it raises DEVICE_ERROR_KV_SLOT in
// the context's error word, which the next synchronize/download reports — never a silent overwrite.
#include "cuda_device_util.cuh"
#include "cuda_ops.hpp"

namespace aprhost::cuda {

namespace {

constexpr int kThreads = 256;

// One KV_STORE node's operands; a launch takes one or two (a layer's k and v, fused: blockIdx.z picks).
struct KvJob {
    View src, cache;
    bool per_head;
    uint32_t cache_dtype;
    int64_t n_tokens;
};

__global__ void kv_store_kernel(KvJob j0, KvJob j1, const int32_t* slots, unsigned* error_word) {
    const KvJob& job = blockIdx.z == 0 ? j0 : j1;
    const View& src = job.src;
    const View& cache = job.cache;
    const int64_t row_len = cache.ne[0], n_slots = cache.ne[1];
    const int64_t eb = float_dtype_bytes(job.cache_dtype);
    for (int64_t t = blockIdx.y; t < job.n_tokens; t += gridDim.y) {
        const int64_t slot = slots[t];
        if (slot < 0 || slot >= n_slots) {
            if (threadIdx.x == 0 && blockIdx.x == 0) raise_device_error(error_word, DEVICE_ERROR_KV_SLOT);
            continue;
        }
        char* dst = cache.base + slot * cache.nb[1];
        const int64_t hd = src.ne[0];
        const char* row = job.per_head ? src.base + t * src.nb[2] : src.base + view_row_offset(src, t);
        for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < row_len;
             e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const float v = job.per_head ? *reinterpret_cast<const float*>(row + (e / hd) * src.nb[1] + (e % hd) * 4)
                                         : reinterpret_cast<const float*>(row)[e];
            store_float(dst + e * eb, job.cache_dtype, v);
        }
    }
}

KvJob make_job(const aph_graph& g, const aph_node& n) {
    KvJob job;
    job.src = make_view(g, n.src[0]);
    job.cache = make_view(g, n.dst);
    job.per_head = job.src.ne[0] != job.cache.ne[0];
    job.cache_dtype = g.tensors[n.dst].dtype;
    job.n_tokens = job.per_head ? job.src.ne[2] : view_rows(job.src);
    return job;
}

// n2 may be null; when given it uses the same slots as n1 (cuda_fusion.cpp).
void launch_kv_jobs(const OpContext& ctx, const aph_graph& g, const aph_node& n1, const aph_node* n2) {
    const KvJob j0 = make_job(g, n1);
    const KvJob j1 = n2 ? make_job(g, *n2) : j0;
    const int64_t row_len = j0.cache.ne[0] > j1.cache.ne[0] ? j0.cache.ne[0] : j1.cache.ne[0];
    const int64_t tokens = j0.n_tokens > j1.n_tokens ? j0.n_tokens : j1.n_tokens;
    if (tokens == 0 || row_len == 0) return;
    dim3 grid = row_grid(row_len, tokens, kThreads);
    grid.z = n2 ? 2 : 1;
    const View slots = make_view(g, n1.src[1]);
    kv_store_kernel<<<grid, kThreads, 0, ctx.lc.stream>>>(j0, j1, reinterpret_cast<const int32_t*>(slots.base),
                                                          ctx.error_word);
    cuda_check_launch("kv_store_kernel");
}

}  // namespace

void launch_kv_store(const OpContext& ctx, const aph_graph& g, const aph_node& n) { launch_kv_jobs(ctx, g, n, nullptr); }

void launch_kv_store_pair(const OpContext& ctx, const aph_graph& g, const aph_node& n1, const aph_node& n2) {
    launch_kv_jobs(ctx, g, n1, &n2);
}

}  // namespace aprhost::cuda
