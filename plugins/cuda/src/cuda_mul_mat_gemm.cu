// MUL_MAT through dequantised weight chunks and cuBLASLt: the weights stay quantised in device memory; each call
// dequantises them chunk by chunk (≤ kChunkBytes of rows) into the node's workspace and multiplies:
//   quantised weights (long prompts, see op_mul_mat.cpp) → FP16 tiles × FP16 activations on the tensor cores, FP32
//                                                          accumulate and output;
//   F32 / F16 / BF16 weights                             → F32 tiles × F32 activations, FP32 compute (no TF32): the
//                                                          float MUL_MAT bound (NMSE 1e-6) and the decode path's
//                                                          exact f32 products leave no room for rounding the inputs.
// Column-major view for cuBLASLt: the weight chunk [R][k] is A (k × R, ld k) used transposed, the activations
// [N][k] are B (k × N, ld k), dst is D (R × N, ld = dst column stride) at row offset r0. Without a cuBLASLt handle,
// without an algorithm, or with a dst whose columns are not uniformly strided, a tiled FP32-accumulating kernel
// reads the same workspace tiles. Bias is added by a small kernel after cuBLASLt (fused in the tiled kernel).
#include "cuda_mul_mat_kernels.hpp"
#include "quant_blocks.cuh"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace aprhost::cuda::kern {

namespace {

constexpr size_t kChunkBytes = size_t{64} << 20;    // one dequantised weight chunk
constexpr size_t kLtWorkspace = size_t{32} << 20;   // cuBLASLt's own scratch

size_t align256(size_t v) { return (v + 255) & ~static_cast<size_t>(255); }

void check_launch(const char* what) {
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        throw std::runtime_error(std::string("CUDA ") + what + " launch failed: " + cudaGetErrorName(e) + ": " +
                                 cudaGetErrorString(e));
}

__device__ __forceinline__ int64_t col_offset(const Cols& c, int64_t j) {
    const int64_t i1 = j % c.ne1;
    const int64_t r = j / c.ne1;
    return i1 * c.nb1 + (r % c.ne2) * c.nb2 + (r / c.ne2) * c.nb3;
}

template <typename T>
__device__ __forceinline__ T to_tile(float v);
template <>
__device__ __forceinline__ float to_tile<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half to_tile<__half>(float v) { return __float2half_rn(v); }

template <typename T>
__device__ __forceinline__ float from_tile(T v);
template <>
__device__ __forceinline__ float from_tile<float>(float v) { return v; }
template <>
__device__ __forceinline__ float from_tile<__half>(__half v) { return __half2float(v); }

// X[c][i] = x column c, element i, converted to the tile type. Grid-stride over ncols·k.
template <typename T>
__global__ void __launch_bounds__(256) convert_act_kernel(const uint8_t* __restrict__ x, Cols xcols, int64_t k,
                                                          int64_t ncols, T* __restrict__ out) {
    const int64_t total = k * ncols;
    for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t c = e / k, i = e % k;
        out[e] = to_tile<T>(reinterpret_cast<const float*>(x + col_offset(xcols, c))[i]);
    }
}

// W[r][·] = weight row r0 + r dequantised (G elements per thread step; 16-byte stores for G = 8).
template <uint32_t DT, typename T>
__global__ void __launch_bounds__(256) dequant_rows_kernel(const uint8_t* __restrict__ w, int64_t stride, int64_t k,
                                                           int64_t r0, int64_t rows, T* __restrict__ out) {
    using Tr = qb::Traits<DT>;
    const int64_t groups_per_row = k / Tr::G;
    const int64_t total = groups_per_row * rows;
    for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = e / groups_per_row, g = e % groups_per_row;
        float y[Tr::G];
        Tr::dequant(w + (r0 + r) * stride, g, y);
        T* o = out + r * k + g * Tr::G;
        if constexpr (Tr::G == 8 && sizeof(T) == 2) {
            uint4 v;
            uint32_t* p = reinterpret_cast<uint32_t*>(&v);
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const __half2 h = __floats2half2_rn(y[2 * i], y[2 * i + 1]);
                p[i] = *reinterpret_cast<const uint32_t*>(&h);
            }
            *reinterpret_cast<uint4*>(o) = v;
        } else if constexpr (Tr::G == 8) {
            reinterpret_cast<float4*>(o)[0] = make_float4(y[0], y[1], y[2], y[3]);
            reinterpret_cast<float4*>(o)[1] = make_float4(y[4], y[5], y[6], y[7]);
        } else {
#pragma unroll
            for (int i = 0; i < Tr::G; ++i) o[i] = to_tile<T>(y[i]);
        }
    }
}

// dst[r0 + r, c] = Σ_i W[r][i]·X[c][i] (+ bias) for a chunk of R rows: 64 × 64 output tiles, 16-deep k steps,
// 256 threads × 4 × 4 outputs, FP32 accumulation. The fallback when cuBLASLt is unavailable.
constexpr int kTileM = 64, kTileN = 64, kTileK = 16;

template <typename T>
__global__ void __launch_bounds__(256) tiled_gemm_kernel(const T* __restrict__ W, const T* __restrict__ X, int64_t k,
                                                         int64_t rows, int64_t ncols, int64_t r0,
                                                         const float* __restrict__ bias, uint8_t* dst, Cols dcols) {
    __shared__ float ws[kTileK][kTileM + 1];
    __shared__ float xs[kTileK][kTileN + 1];
    const int64_t rb = static_cast<int64_t>(blockIdx.x) * kTileM;
    const int64_t cb = static_cast<int64_t>(blockIdx.y) * kTileN;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    float acc[4][4] = {};
    for (int64_t kb = 0; kb < k; kb += kTileK) {
        for (int e = threadIdx.x; e < kTileM * kTileK; e += 256) {
            const int r = e / kTileK, kk = e % kTileK;
            const int64_t gr = rb + r, gk = kb + kk;
            ws[kk][r] = (gr < rows && gk < k) ? from_tile<T>(W[gr * k + gk]) : 0.0f;
            const int64_t gc = cb + r;
            xs[kk][r] = (gc < ncols && gk < k) ? from_tile<T>(X[gc * k + gk]) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileK; ++kk) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                a[i] = ws[kk][ty + 16 * i];
                b[i] = xs[kk][tx + 16 * i];
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int64_t r = rb + ty + 16 * i;
        if (r >= rows) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int64_t c = cb + tx + 16 * j;
            if (c >= ncols) continue;
            float v = acc[i][j];
            if (bias != nullptr) v += bias[r0 + r];
            reinterpret_cast<float*>(dst + col_offset(dcols, c))[r0 + r] = v;
        }
    }
}

// dst[r, c] (+)= bias[r] for all m rows and ncols columns; `add` false writes bias (or 0) instead.
__global__ void __launch_bounds__(256) bias_kernel(int64_t m, int64_t ncols, const float* __restrict__ bias,
                                                   uint8_t* dst, Cols dcols, bool add) {
    const int64_t total = m * ncols;
    for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t c = e / m, r = e % m;
        float* d = reinterpret_cast<float*>(dst + col_offset(dcols, c)) + r;
        const float b = bias != nullptr ? bias[r] : 0.0f;
        *d = add ? *d + b : b;
    }
}

unsigned grid_for(int64_t work) {
    const int64_t blocks = (work + 255) / 256;
    return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, 65535)));
}

// Column j of dst at dst + j·nb1 for every j < ncols (what a cuBLASLt D layout can express).
bool uniform_columns(const Cols& c, int64_t ncols) {
    if (ncols <= c.ne1) return true;
    if (c.nb2 != c.nb1 * c.ne1) return false;
    if (ncols <= c.ne1 * c.ne2) return true;
    return c.nb3 == c.nb2 * c.ne2;
}

// Largest power of two (≤ 256) dividing the address.
uint32_t pointer_alignment(const void* p) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    uint32_t al = 256;
    while (al > 1 && (a % al) != 0) al >>= 1;
    return al;
}

// ---- cuBLASLt ---------------------------------------------------------------------------------------------------

struct AlgoKey {
    int device;
    bool fp32;
    int64_t rows, ncols, k, ldd;
    uint32_t align_d;
    bool operator==(const AlgoKey& o) const {
        return device == o.device && fp32 == o.fp32 && rows == o.rows && ncols == o.ncols && k == o.k && ldd == o.ldd &&
               align_d == o.align_d;
    }
};

// Heuristic results by shape: cublasLtMatmulAlgoGetHeuristic costs tens of µs of host time, and a prefill calls
// the same few shapes for every layer. Process-wide on purpose (algorithms depend only on device and shape, not on
// the context); bounded, guarded by a mutex.
class AlgoCache {
public:
    bool find(const AlgoKey& key, cublasLtMatmulAlgo_t& algo, bool& found_none) {
        std::lock_guard<std::mutex> lock(mu_);
        for (const Entry& e : entries_)
            if (e.key == key) {
                algo = e.algo;
                found_none = !e.ok;
                return true;
            }
        return false;
    }
    void put(const AlgoKey& key, const cublasLtMatmulAlgo_t& algo, bool ok) {
        std::lock_guard<std::mutex> lock(mu_);
        if (entries_.size() >= 512) entries_.erase(entries_.begin());
        entries_.push_back({key, algo, ok});
    }

private:
    struct Entry {
        AlgoKey key;
        cublasLtMatmulAlgo_t algo;
        bool ok;
    };
    std::mutex mu_;
    std::vector<Entry> entries_;
};

AlgoCache& algo_cache() {
    static AlgoCache cache;
    return cache;
}

std::string lt_error(const char* what, cublasStatus_t s) {
    return std::string("cuBLASLt ") + what + " failed: status " + std::to_string(static_cast<int>(s));
}

// RAII for the per-call descriptors (host objects only: no device work, legal during capture).
struct LtDescs {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    ~LtDescs() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (d) cublasLtMatrixLayoutDestroy(d);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (op) cublasLtMatmulDescDestroy(op);
    }
};

void lt_check(cublasStatus_t s, const char* what) {
    if (s != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(lt_error(what, s));
}

// D (rows × ncols, ld ldd, f32) = Aᵀ·B with A = W tile (k × rows, ld k), B = X (k × ncols, ld k). Returns false
// when cuBLASLt offers no algorithm for this shape (the caller then runs the tiled kernel).
bool lt_matmul(cublasLtHandle_t lt, cudaStream_t stream, int device, bool fp32, const void* W, const void* X,
               int64_t rows, int64_t ncols, int64_t k, float* D, int64_t ldd, void* lt_ws, size_t lt_ws_bytes) {
    const cudaDataType_t in_type = fp32 ? CUDA_R_32F : CUDA_R_16F;
    LtDescs s;
    lt_check(cublasLtMatmulDescCreate(&s.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    lt_check(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), "set TRANSA");
    lt_check(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), "set TRANSB");
    lt_check(cublasLtMatrixLayoutCreate(&s.a, in_type, static_cast<uint64_t>(k), static_cast<uint64_t>(rows), k),
             "layout A");
    lt_check(cublasLtMatrixLayoutCreate(&s.b, in_type, static_cast<uint64_t>(k), static_cast<uint64_t>(ncols), k),
             "layout B");
    lt_check(cublasLtMatrixLayoutCreate(&s.d, CUDA_R_32F, static_cast<uint64_t>(rows), static_cast<uint64_t>(ncols), ldd),
             "layout D");

    const uint32_t align_d = std::min(pointer_alignment(D), pointer_alignment(reinterpret_cast<const void*>(ldd * 4)));
    const AlgoKey key{device, fp32, rows, ncols, k, ldd, align_d};
    cublasLtMatmulAlgo_t algo{};
    bool none = false;
    if (!algo_cache().find(key, algo, none)) {
        lt_check(cublasLtMatmulPreferenceCreate(&s.pref), "PreferenceCreate");
        const uint64_t ws = lt_ws_bytes;
        lt_check(cublasLtMatmulPreferenceSetAttribute(s.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
                 "set workspace");
        // A and B live in the 256-byte aligned workspace; C/D is the caller's tensor: tell the heuristic its true
        // alignment so it does not pick a kernel that assumes 256 bytes.
        lt_check(cublasLtMatmulPreferenceSetAttribute(s.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d,
                                                      sizeof(align_d)),
                 "set C alignment");
        lt_check(cublasLtMatmulPreferenceSetAttribute(s.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d,
                                                      sizeof(align_d)),
                 "set D alignment");
        cublasLtMatmulHeuristicResult_t res{};
        int n_res = 0;
        const cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, s.op, s.a, s.b, s.d, s.d, s.pref, 1, &res, &n_res);
        none = hs != CUBLAS_STATUS_SUCCESS || n_res == 0;
        if (!none) algo = res.algo;
        algo_cache().put(key, algo, !none);
    }
    if (none) return false;
    const float alpha = 1.0f, beta = 0.0f;
    lt_check(cublasLtMatmul(lt, s.op, &alpha, W, s.a, X, s.b, &beta, D, s.d, D, s.d, &algo, lt_ws, lt_ws_bytes, stream),
             "Matmul");
    return true;
}

template <typename T>
void run_chunks(cudaStream_t stream, cublasLtHandle_t lt, int device, const GemmPlan& plan, const Weights& w,
                const uint8_t* x, const Cols& xcols, int64_t ncols, const float* bias, uint8_t* dst, const Cols& dcols,
                void* workspace) {
    auto* X = static_cast<T*>(workspace);
    auto* Wt = reinterpret_cast<T*>(static_cast<uint8_t*>(workspace) + plan.x_bytes);
    void* lt_ws = static_cast<uint8_t*>(workspace) + plan.x_bytes + plan.w_bytes;

    convert_act_kernel<T><<<grid_for(w.k * ncols), 256, 0, stream>>>(x, xcols, w.k, ncols, X);
    check_launch("mul_mat convert activations");

    const bool lt_ok = lt != nullptr && uniform_columns(dcols, ncols) && dcols.nb1 % 4 == 0 && dcols.nb1 / 4 >= w.m;
    for (int64_t r0 = 0; r0 < w.m; r0 += plan.chunk_rows) {
        const int64_t rows = std::min(plan.chunk_rows, w.m - r0);
        const bool known = qb::visit_weight_dtype(w.dtype, [&](auto tag) {
            constexpr uint32_t DT = decltype(tag)::value;
            dequant_rows_kernel<DT, T><<<grid_for(rows * (w.k / qb::Traits<DT>::G)), 256, 0, stream>>>(
                w.w, w.stride, w.k, r0, rows, Wt);
        });
        if (!known) throw std::runtime_error("CUDA MUL_MAT: no dequantiser for dtype " + std::to_string(w.dtype));
        check_launch("mul_mat dequantise weights");
        bool done = false;
        if (lt_ok) {
            float* D = reinterpret_cast<float*>(dst) + r0;
            done = lt_matmul(lt, stream, device, plan.fp32, Wt, X, rows, ncols, w.k, D, dcols.nb1 / 4, lt_ws,
                             plan.lt_bytes);
        }
        if (!done) {
            const dim3 grid(static_cast<unsigned>((rows + kTileM - 1) / kTileM),
                            static_cast<unsigned>((ncols + kTileN - 1) / kTileN));
            tiled_gemm_kernel<T><<<grid, 256, 0, stream>>>(Wt, X, w.k, rows, ncols, r0, bias, dst, dcols);
            check_launch("mul_mat tiled gemm");
        } else if (bias != nullptr) {
            // The tiled kernel fuses the bias; after cuBLASLt it is one pass over this chunk's rows.
            Cols dc = dcols;
            bias_kernel<<<grid_for(rows * ncols), 256, 0, stream>>>(rows, ncols, bias + r0,
                                                                   dst + r0 * static_cast<int64_t>(sizeof(float)), dc,
                                                                   true);
            check_launch("mul_mat bias");
        }
    }
}

}  // namespace

GemmPlan gemm_plan(uint32_t dtype, int64_t k, int64_t m, int64_t ncols) {
    GemmPlan p;
    p.fp32 = dtype == APH_DTYPE_F32 || dtype == APH_DTYPE_F16 || dtype == APH_DTYPE_BF16;
    const size_t esz = p.fp32 ? 4 : 2;
    const size_t row = static_cast<size_t>(std::max<int64_t>(k, 1)) * esz;
    int64_t rows = static_cast<int64_t>(std::max<size_t>(1, kChunkBytes / row));
    if (rows >= m) {
        rows = std::max<int64_t>(m, 1);
    } else if (rows >= 128) {
        rows -= rows % 128;  // whole tensor-core tiles per chunk
    }
    p.chunk_rows = rows;
    p.x_bytes = align256(static_cast<size_t>(k * ncols) * esz);
    p.w_bytes = align256(static_cast<size_t>(rows) * static_cast<size_t>(k) * esz);
    p.lt_bytes = kLtWorkspace;
    return p;
}

void launch_gemm(CUstream_st* stream, cublasLtContext* lt, int device, const GemmPlan& plan, const Weights& w,
                 const uint8_t* x, const Cols& xcols, int64_t ncols, const float* bias, uint8_t* dst, const Cols& dcols,
                 void* workspace) {
    if (ncols > 65535 * static_cast<int64_t>(kTileN))
        throw std::runtime_error("CUDA MUL_MAT: too many activation columns (" + std::to_string(ncols) + ")");
    if (plan.fp32)
        run_chunks<float>(stream, lt, device, plan, w, x, xcols, ncols, bias, dst, dcols, workspace);
    else
        run_chunks<__half>(stream, lt, device, plan, w, x, xcols, ncols, bias, dst, dcols, workspace);
}

void launch_fill_bias(CUstream_st* stream, int64_t m, int64_t ncols, const float* bias, uint8_t* dst, const Cols& dcols) {
    bias_kernel<<<grid_for(m * ncols), 256, 0, stream>>>(m, ncols, bias, dst, dcols, false);
    check_launch("mul_mat fill bias");
}

}  // namespace aprhost::cuda::kern
