// ROPE (NORM and NEOX, partial n_rot): src0 [head_dim, heads, n] f32 at positions src1 [n] i32, dst may alias src0.
// One block per (head, token); thread t turns pair t. The angle pos·freq_scale·freq_base^(−2i/n_rot) and its
// sine/cosine are formed in double, as the reference does: positions reach 10⁵ and an f32 angle would lose ~1e-3
// rad there. Dims past n_rot are copied when dst is not src0. Positions come from device memory (the host uploads
// them each step), so a captured graph replays with the new ones.
#include "cuda_device_util.cuh"
#include "cuda_ops.hpp"

namespace aprhost::cuda {

namespace {

// One ROPE node's operands; a launch takes one or two (the q and k of a layer, fused).
struct RopeJob {
    View x, out;
    bool in_place;
};

__device__ void rope_row(const RopeJob& job, const int32_t* pos, int64_t hj, int mode, int64_t n_rot,
                         double freq_base, double freq_scale) {
    const int64_t hd = job.x.ne[0], heads = job.x.ne[1];
    const int64_t half = n_rot / 2;
    const int64_t h = hj % heads, j = hj / heads;
    const float* xv = reinterpret_cast<const float*>(job.x.base + h * job.x.nb[1] + j * job.x.nb[2]);
    float* yv = reinterpret_cast<float*>(job.out.base + h * job.out.nb[1] + j * job.out.nb[2]);
    const double p = static_cast<double>(pos[j]) * freq_scale;
    for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
        const double theta = p * pow(freq_base, rope_exponent(i, n_rot));
        double s, c;
        sincos(theta, &s, &c);
        const RopePair pr = rope_pair(mode, n_rot, i);
        const double a = xv[pr.i0], b = xv[pr.i1];
        // Both reads happen before either write, in this thread: in place is safe.
        yv[pr.i0] = static_cast<float>(a * c - b * s);
        yv[pr.i1] = static_cast<float>(a * s + b * c);
    }
    if (!job.in_place)
        for (int64_t i = n_rot + threadIdx.x; i < hd; i += blockDim.x) yv[i] = xv[i];
}

// Rows (head, token) of job 0 first, then those of job 1 (n_jobs = 1 or 2).
__global__ void rope_kernel(RopeJob j0, RopeJob j1, int n_jobs, const int32_t* pos, int mode, int64_t n_rot,
                            double freq_base, double freq_scale) {
    const int64_t rows0 = j0.x.ne[1] * j0.x.ne[2];
    const int64_t rows = rows0 + (n_jobs > 1 ? j1.x.ne[1] * j1.x.ne[2] : 0);
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        if (r < rows0) rope_row(j0, pos, r, mode, n_rot, freq_base, freq_scale);
        else rope_row(j1, pos, r - rows0, mode, n_rot, freq_base, freq_scale);
    }
}

RopeJob make_job(const aph_graph& g, const aph_node& n) {
    RopeJob job;
    job.x = make_view(g, n.src[0]);
    job.out = make_view(g, n.dst);
    job.in_place = job.x.base == job.out.base && job.x.nb[1] == job.out.nb[1] && job.x.nb[2] == job.out.nb[2];
    return job;
}

// n2 may be null; when given it has the same positions and parameters as n1 (cuda_fusion.cpp).
void launch_rope_jobs(const OpContext& ctx, const aph_graph& g, const aph_node& n1, const aph_node* n2) {
    const RopeJob j0 = make_job(g, n1);
    const RopeJob j1 = n2 ? make_job(g, *n2) : j0;
    const int64_t rows = j0.x.ne[1] * j0.x.ne[2] + (n2 ? j1.x.ne[1] * j1.x.ne[2] : 0);
    if (rows == 0 || j0.x.ne[0] == 0) return;
    const int64_t n_rot = n1.iparams[1];
    int threads = 32;
    while (threads < n_rot / 2 && threads < 256) threads *= 2;
    const unsigned blocks = static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
    const View p = make_view(g, n1.src[1]);
    rope_kernel<<<blocks, threads, 0, ctx.lc.stream>>>(j0, j1, n2 ? 2 : 1, reinterpret_cast<const int32_t*>(p.base),
                                                      n1.iparams[0], n_rot, static_cast<double>(n1.fparams[0]),
                                                      static_cast<double>(n1.fparams[1]));
    cuda_check_launch("rope_kernel");
}

}  // namespace

void launch_rope(const OpContext& ctx, const aph_graph& g, const aph_node& n) { launch_rope_jobs(ctx, g, n, nullptr); }

void launch_rope_pair(const OpContext& ctx, const aph_graph& g, const aph_node& n1, const aph_node& n2) {
    launch_rope_jobs(ctx, g, n1, &n2);
}

}  // namespace aprhost::cuda
