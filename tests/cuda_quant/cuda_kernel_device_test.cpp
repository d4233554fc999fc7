// The CUDA plugin's MUL_MAT / GET_ROWS kernels run directly (op_mul_mat.cpp + the .cu kernels compiled into this
// test, no plugin runtime): every weight dtype, decode (N ≤ 8, fused GEMV) and prefill (N > 8, cuBLASLt and the
// tiled fallback) shapes, bias, strided/unaligned views, against the SDK reference. Needs a GPU: without one every
// case passes with a warning naming the reason (the host-only proof of the arithmetic is cuda_quant_math_test.cpp).
// The last case prints the decode GEMV's bandwidth on 7B-shaped Q4_K / Q6_K matrices (a benchmark, not a check).
#include "cuda_kernel_api.hpp"
#include "test_random.hpp"

#include <aprhost/graph_rules.hpp>
#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/ops.hpp>
#include <aprhost/reference/quantize.hpp>

#include <catch2/catch.hpp>
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

// The test's own device_pointer: a tensor's `buffer` is the raw device allocation.
void* aprhost::cuda::device_pointer(const aph_tensor& t) { return reinterpret_cast<char*>(t.buffer) + t.offset; }

namespace {

namespace cu = aprhost::cuda;
namespace ref = aprhost::ref;

constexpr uint32_t kAllDtypes[] = {APH_DTYPE_F32,  APH_DTYPE_F16,  APH_DTYPE_BF16, APH_DTYPE_Q4_0,   APH_DTYPE_Q4_1,
                                   APH_DTYPE_Q5_0, APH_DTYPE_Q5_1, APH_DTYPE_Q8_0, APH_DTYPE_Q4_K,   APH_DTYPE_Q5_K,
                                   APH_DTYPE_Q6_K, APH_DTYPE_APR_Q4, APH_DTYPE_APR_Q8};

bool is_float(uint32_t dt) { return dt == APH_DTYPE_F32 || dt == APH_DTYPE_F16 || dt == APH_DTYPE_BF16; }

void ok(cudaError_t e, const char* what) {
    if (e != cudaSuccess) FAIL(what << ": " << cudaGetErrorName(e) << " " << cudaGetErrorString(e));
}

// One CUDA device + stream + cuBLASLt handle for the whole test binary; empty reason = usable.
struct Gpu {
    std::string why_not;
    cudaStream_t stream = nullptr;
    cublasLtHandle_t lt = nullptr;
    cu::DeviceCaps caps;
    Gpu() {
        int n = 0;
        const cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess || n == 0) {
            why_not = std::string("no CUDA device (") + cudaGetErrorName(e) + ")";
            return;
        }
        cudaSetDevice(0);
        cudaDeviceGetAttribute(&caps.cc_major, cudaDevAttrComputeCapabilityMajor, 0);
        cudaDeviceGetAttribute(&caps.cc_minor, cudaDevAttrComputeCapabilityMinor, 0);
        cudaDeviceGetAttribute(&caps.n_sms, cudaDevAttrMultiProcessorCount, 0);
        cudaStreamCreate(&stream);
        if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) lt = nullptr;
    }
};

Gpu& gpu() {
    static Gpu g;
    return g;
}

// A device allocation holding `bytes`, optionally placed `shift` bytes past a 256-byte boundary.
struct DevBuf {
    void* p = nullptr;
    explicit DevBuf(size_t bytes) { ok(cudaMalloc(&p, bytes + 512), "cudaMalloc"); }
    ~DevBuf() { cudaFree(p); }
    DevBuf(const DevBuf&) = delete;
    DevBuf& operator=(const DevBuf&) = delete;
};

aph_tensor tensor(uint32_t dtype, std::initializer_list<int64_t> ne, void* base, uint64_t offset) {
    aph_tensor t{};
    t.dtype = dtype;
    t.n_dims = static_cast<uint32_t>(ne.size());
    int i = 0;
    for (int64_t v : ne) t.ne[i++] = v;
    for (; i < APH_MAX_DIMS; ++i) t.ne[i] = 1;
    aprhost::sdk::set_packed_strides(t);
    t.buffer = reinterpret_cast<aph_buffer_t>(base);
    t.offset = offset;
    return t;
}

using aprhost::test::gaussian_weights;  // m rows of k weights of a dtype quantised from N(0, 0.05)
using aprhost::test::randn;

double nmse(const std::vector<float>& out, const std::vector<float>& expect, bool& finite) {
    double num = 0.0, den = 0.0;
    finite = true;
    for (size_t i = 0; i < out.size(); ++i) {
        if (!std::isfinite(out[i])) finite = false;
        const double e = static_cast<double>(out[i]) - expect[i];
        num += e * e;
        den += static_cast<double>(expect[i]) * expect[i];
    }
    return den > 0 ? num / den : num;
}

// Runs one MUL_MAT node on the GPU: weights at byte offset w_off (2 = misaligned rows for the fast kernels).
std::vector<float> run_mul_mat(uint32_t dt, const std::vector<uint8_t>& w, int64_t k, int64_t m,
                               const std::vector<float>& x, int64_t n, const std::vector<float>* bias, uint64_t w_off,
                               bool use_lt) {
    Gpu& g = gpu();
    DevBuf dw(w.size()), dx(x.size() * 4), dy(static_cast<size_t>(m * n) * 4), db(static_cast<size_t>(m) * 4);
    ok(cudaMemcpy(static_cast<char*>(dw.p) + w_off, w.data(), w.size(), cudaMemcpyHostToDevice), "upload w");
    ok(cudaMemcpy(dx.p, x.data(), x.size() * 4, cudaMemcpyHostToDevice), "upload x");
    ok(cudaMemset(dy.p, 0xFF, static_cast<size_t>(m * n) * 4), "poison y");  // NaN sentinels
    if (bias) ok(cudaMemcpy(db.p, bias->data(), static_cast<size_t>(m) * 4, cudaMemcpyHostToDevice), "upload b");
    std::vector<aph_tensor> ts = {tensor(dt, {k, m}, dw.p, w_off), tensor(APH_DTYPE_F32, {k, n}, dx.p, 0),
                                  tensor(APH_DTYPE_F32, {m, n}, dy.p, 0), tensor(APH_DTYPE_F32, {m}, db.p, 0)};
    aph_node node{};
    node.op = APH_OP_MUL_MAT;
    for (int& s : node.src) s = -1;
    node.src[0] = 0;
    node.src[1] = 1;
    node.src[2] = bias ? 3 : -1;
    node.dst = 2;
    aph_graph graph{sizeof(aph_graph), static_cast<uint32_t>(ts.size()), ts.data(), 1, &node};
    const std::string why = cu::mul_mat_unsupported(graph, node);
    REQUIRE(why.empty());
    const size_t ws_bytes = cu::mul_mat_workspace_bytes(g.caps, graph, node);
    DevBuf ws(ws_bytes);
    cu::LaunchContext lc;
    lc.stream = g.stream;
    lc.cublaslt = use_lt ? g.lt : nullptr;
    lc.caps = &g.caps;
    lc.workspace = ws.p;
    lc.workspace_bytes = ws_bytes;
    cu::launch_mul_mat(lc, graph, node);
    ok(cudaStreamSynchronize(g.stream), "mul_mat");
    std::vector<float> y(static_cast<size_t>(m * n));
    ok(cudaMemcpy(y.data(), dy.p, y.size() * 4, cudaMemcpyDeviceToHost), "download y");
    return y;
}

}  // namespace

TEST_CASE("cuda MUL_MAT kernels on the device match the reference", "[cuda][device]") {
    if (!gpu().why_not.empty()) {
        WARN("skipped: " << gpu().why_not);
        return;
    }
    struct Shape { int64_t n; bool bias; int w_off; bool lt; };  // w_off: 0 aligned, 1 misaligned
    const Shape shapes[] = {{1, false, 0, true},  {1, true, 1, true},   {3, false, 0, true}, {8, true, 0, true},
                            {5, false, 1, true},  {19, true, 0, true},  {64, false, 0, true}, {19, true, 0, false},
                            {40, false, 1, true}, {300, true, 0, true},  {300, false, 0, false}};
    // n ≤ 8: fused GEMV; 8 < n < 256: the integer tile (quantised) or FP32 cuBLASLt (float); n ≥ 256: FP16 cuBLASLt
    // for quantised weights; lt = false: the tiled fallback; misaligned weights: the generic kernels.
    for (uint32_t dt : kAllDtypes) {
        const int64_t be = static_cast<int64_t>(ref::block_elems(dt));
        const int64_t k = be == 256 ? 256 * 11 : (be == 32 ? 32 * 45 : 1000), m = 203;
        const auto w = gaussian_weights(dt, k, m, 11 + dt);
        for (const Shape& s : shapes) {
            const auto x = randn(static_cast<size_t>(k * s.n), 12, 1.0f);
            const auto b = randn(static_cast<size_t>(m), 13, 0.5f);
            std::vector<float> expect(static_cast<size_t>(m * s.n));
            ref::matmul(dt, w.data(), k, m, x.data(), s.n, s.bias ? b.data() : nullptr, expect.data());
            // A misaligned view: off 16-byte boundaries (2 bytes; f32 rows must stay 4-byte aligned).
            const uint64_t w_off = s.w_off == 0 ? 0 : (dt == APH_DTYPE_F32 ? 4 : 2);
            const auto got = run_mul_mat(dt, w, k, m, x, s.n, s.bias ? &b : nullptr, w_off, s.lt);
            bool finite = true;
            const double e = nmse(got, expect, finite);
            const double bound = is_float(dt) ? 1e-6 : 5e-4;
            INFO("dtype " << dt << " k=" << k << " m=" << m << " n=" << s.n << (s.bias ? " bias" : "")
                          << " w_off=" << w_off << (s.lt ? " cublasLt" : " tiled") << ": NMSE " << e);
            CHECK(finite);
            CHECK(e < bound);
        }
    }
}

TEST_CASE("cuda batched MUL_MAT columns equal one-column decode results (KV-invariant premise)", "[cuda][device]") {
    if (!gpu().why_not.empty()) {
        WARN("skipped: " << gpu().why_not);
        return;
    }
    // Below kFp16GemmMinColumns (256) a batch goes through the integer tile (quantised) or FP32 cuBLASLt (float):
    // each column must equal the N = 1 decode result up to FP32 summation order.
    for (uint32_t dt : kAllDtypes) {
        const int64_t be = static_cast<int64_t>(ref::block_elems(dt));
        const int64_t k = be == 256 ? 256 * 14 : (be == 32 ? 32 * 112 : 3584), m = 96, n = 37;
        const auto w = gaussian_weights(dt, k, m, 31 + dt);
        const auto x = randn(static_cast<size_t>(k * n), 32, 1.0f);
        const auto batch = run_mul_mat(dt, w, k, m, x, n, nullptr, 0, true);
        double worst = 0.0, scale = 0.0;
        for (int64_t c = 0; c < n; ++c) {
            const std::vector<float> xc(x.begin() + c * k, x.begin() + (c + 1) * k);
            const auto one = run_mul_mat(dt, w, k, m, xc, 1, nullptr, 0, true);
            for (int64_t r = 0; r < m; ++r) {
                worst = std::max(worst, static_cast<double>(std::fabs(one[r] - batch[static_cast<size_t>(c * m + r)])));
                scale = std::max(scale, static_cast<double>(std::fabs(one[r])));
            }
        }
        INFO("dtype " << dt << ": max |batch - decode| " << worst << " (max |y| " << scale << ")");
        CHECK(worst <= 1e-5 * std::max(1.0, scale));
    }
}

TEST_CASE("cuda GET_ROWS on the device is bit-identical to the reference", "[cuda][device]") {
    if (!gpu().why_not.empty()) {
        WARN("skipped: " << gpu().why_not);
        return;
    }
    Gpu& g = gpu();
    for (uint32_t dt : kAllDtypes) {
        const int64_t be = static_cast<int64_t>(ref::block_elems(dt));
        const int64_t d = be == 1 ? 7 : 3 * be, vocab = 13;
        const auto table = gaussian_weights(dt, d, vocab, 21 + dt);
        const std::vector<int32_t> ids = {12, 0, 5, 5, 7, 1, 12};
        const int64_t n = static_cast<int64_t>(ids.size());
        DevBuf dt_(table.size()), di(ids.size() * 4), dy(static_cast<size_t>(d * n) * 4);
        ok(cudaMemcpy(dt_.p, table.data(), table.size(), cudaMemcpyHostToDevice), "upload table");
        ok(cudaMemcpy(di.p, ids.data(), ids.size() * 4, cudaMemcpyHostToDevice), "upload ids");
        std::vector<aph_tensor> ts = {tensor(dt, {d, vocab}, dt_.p, 0), tensor(APH_DTYPE_I32, {n}, di.p, 0),
                                      tensor(APH_DTYPE_F32, {d, n}, dy.p, 0)};
        aph_node node{};
        node.op = APH_OP_GET_ROWS;
        for (int& s : node.src) s = -1;
        node.src[0] = 0;
        node.src[1] = 1;
        node.dst = 2;
        aph_graph graph{sizeof(aph_graph), 3, ts.data(), 1, &node};
        REQUIRE(cu::get_rows_unsupported(graph, node).empty());
        cu::LaunchContext lc;
        lc.stream = g.stream;
        lc.caps = &g.caps;
        cu::launch_get_rows(lc, graph, node);
        ok(cudaStreamSynchronize(g.stream), "get_rows");
        std::vector<float> got(static_cast<size_t>(d * n)), expect(got.size());
        ok(cudaMemcpy(got.data(), dy.p, got.size() * 4, cudaMemcpyDeviceToHost), "download");
        ref::get_rows(dt, table.data(), d, ids.data(), n, expect.data());
        INFO("dtype " << dt);
        CHECK(std::memcmp(got.data(), expect.data(), got.size() * 4) == 0);
    }
}

TEST_CASE("cuda MUL_MAT timings on 7B-shaped weights (benchmark)", "[cuda][device][bench]") {
    if (!gpu().why_not.empty()) {
        WARN("skipped: " << gpu().why_not);
        return;
    }
    Gpu& g = gpu();
    // n = 1: decode GEMV (weight bandwidth is the figure of merit); n = 91: a 91-token prompt through the integer
    // tile; n = 255 vs 256: the two sides of kFp16GemmMinColumns (integer tile vs FP16 cuBLASLt), to tune it.
    struct Case { uint32_t dt; int64_t k, m, n; };
    const Case cases[] = {{APH_DTYPE_Q4_K, 3584, 18944, 1}, {APH_DTYPE_Q4_K, 18944, 3584, 1}, {APH_DTYPE_Q6_K, 18944, 3584, 1},
                          {APH_DTYPE_Q8_0, 3584, 18944, 1}, {APH_DTYPE_Q4_0, 3584, 18944, 1}, {APH_DTYPE_F16, 3584, 4096, 1},
                          {APH_DTYPE_Q4_K, 3584, 18944, 8}, {APH_DTYPE_Q4_K, 3584, 18944, 91},
                          {APH_DTYPE_Q4_K, 3584, 18944, 255}, {APH_DTYPE_Q4_K, 3584, 18944, 256}};
    for (const Case& c : cases) {
        const size_t wbytes = ref::row_bytes(c.dt, c.k) * static_cast<size_t>(c.m);
        DevBuf dw(wbytes), dx(static_cast<size_t>(c.k * c.n) * 4), dy(static_cast<size_t>(c.m * c.n) * 4);
        ok(cudaMemset(dw.p, 0x11, wbytes), "fill w");
        ok(cudaMemset(dx.p, 0, static_cast<size_t>(c.k * c.n) * 4), "fill x");
        std::vector<aph_tensor> ts = {tensor(c.dt, {c.k, c.m}, dw.p, 0), tensor(APH_DTYPE_F32, {c.k, c.n}, dx.p, 0),
                                      tensor(APH_DTYPE_F32, {c.m, c.n}, dy.p, 0)};
        aph_node node{};
        node.op = APH_OP_MUL_MAT;
        for (int& s : node.src) s = -1;
        node.src[0] = 0;
        node.src[1] = 1;
        node.dst = 2;
        aph_graph graph{sizeof(aph_graph), 3, ts.data(), 1, &node};
        const size_t ws_bytes = cu::mul_mat_workspace_bytes(g.caps, graph, node);
        DevBuf ws(ws_bytes);
        cu::LaunchContext lc;
        lc.stream = g.stream;
        lc.cublaslt = g.lt;
        lc.caps = &g.caps;
        lc.workspace = ws.p;
        lc.workspace_bytes = ws_bytes;
        for (int i = 0; i < 3; ++i) cu::launch_mul_mat(lc, graph, node);
        cudaEvent_t e0, e1;
        cudaEventCreate(&e0);
        cudaEventCreate(&e1);
        const int iters = c.n == 1 ? 50 : 10;
        cudaEventRecord(e0, g.stream);
        for (int i = 0; i < iters; ++i) cu::launch_mul_mat(lc, graph, node);
        cudaEventRecord(e1, g.stream);
        ok(cudaEventSynchronize(e1), "bench");
        float ms = 0;
        cudaEventElapsedTime(&ms, e0, e1);
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
        const double us = 1000.0 * ms / iters;
        const double tflops = 2.0 * static_cast<double>(c.k) * static_cast<double>(c.m) * static_cast<double>(c.n) /
                              (us * 1e6);
        WARN("MUL_MAT dtype " << c.dt << " k=" << c.k << " m=" << c.m << " n=" << c.n << ": " << us << " us/call, "
                              << static_cast<double>(wbytes) / (us * 1e3) << " GB/s of weights, " << tflops
                              << " TFLOP/s");
    }
}

// ---- host-only: acceptance rules and workspace sizing of op_mul_mat.cpp (no GPU needed) --------------------------

namespace {

struct NodeFixture {
    std::vector<aph_tensor> ts;
    aph_node node{};
    aph_graph graph{};
    NodeFixture(uint32_t op, std::vector<aph_tensor> tensors, std::initializer_list<int> src, int dst)
        : ts(std::move(tensors)) {
        node.op = op;
        for (int& s : node.src) s = -1;
        int i = 0;
        for (int s : src) node.src[i++] = s;
        node.dst = dst;
        graph = {sizeof(aph_graph), static_cast<uint32_t>(ts.size()), ts.data(), 1, &node};
    }
};

void* fake_base() { return reinterpret_cast<void*>(uintptr_t{1} << 20); }  // never dereferenced

NodeFixture mul_mat_fixture(uint32_t dt, int64_t k, int64_t m, int64_t n) {
    return NodeFixture(APH_OP_MUL_MAT,
                       {tensor(dt, {k, m}, fake_base(), 0), tensor(APH_DTYPE_F32, {k, n}, fake_base(), 0),
                        tensor(APH_DTYPE_F32, {m, n}, fake_base(), 0), tensor(APH_DTYPE_F32, {m}, fake_base(), 0)},
                       {0, 1}, 2);
}

}  // namespace

TEST_CASE("cuda MUL_MAT acceptance rules", "[cuda][host]") {
    for (uint32_t dt : kAllDtypes) {
        auto f = mul_mat_fixture(dt, 512, 40, 3);
        INFO("dtype " << dt);
        CHECK(cu::mul_mat_unsupported(f.graph, f.node).empty());
        f.node.src[2] = 3;
        CHECK(cu::mul_mat_unsupported(f.graph, f.node).empty());
    }
    auto f = mul_mat_fixture(APH_DTYPE_Q4_K, 512, 40, 3);
    f.ts[0].dtype = APH_DTYPE_Q8_K;  // an activation format, not a weight dtype
    CHECK(cu::mul_mat_unsupported(f.graph, f.node).find("not supported") != std::string::npos);
    f = mul_mat_fixture(APH_DTYPE_Q4_0, 512, 40, 3);
    f.ts[0].offset = 1;  // odd offset: the kernels' 16-bit loads would fault
    CHECK(cu::mul_mat_unsupported(f.graph, f.node).find("multiples of 2") != std::string::npos);
    f = mul_mat_fixture(APH_DTYPE_Q4_0, 512, 40, 3);
    f.ts[1].ne[0] = 480;
    CHECK(cu::mul_mat_unsupported(f.graph, f.node).find("inner sizes") != std::string::npos);
    f = mul_mat_fixture(APH_DTYPE_Q4_K, 512, 40, 3);
    f.ts[0].ne[0] = 500;  // not a whole number of 256-element blocks
    CHECK(!cu::mul_mat_unsupported(f.graph, f.node).empty());
    f = mul_mat_fixture(APH_DTYPE_F16, 512, 40, 3);
    f.ts[2].dtype = APH_DTYPE_F16;
    CHECK(cu::mul_mat_unsupported(f.graph, f.node).find("dst") != std::string::npos);
    f = mul_mat_fixture(APH_DTYPE_F16, 512, 40, 3);
    f.node.src[2] = 3;
    f.ts[3].ne[0] = 39;
    CHECK(cu::mul_mat_unsupported(f.graph, f.node).find("bias") != std::string::npos);
    f = mul_mat_fixture(APH_DTYPE_F16, 512, 40, 3);
    f.node.src[1] = 9;
    CHECK(!cu::mul_mat_unsupported(f.graph, f.node).empty());
}

TEST_CASE("cuda GET_ROWS acceptance rules", "[cuda][host]") {
    auto make = [](uint32_t dt) {
        return NodeFixture(APH_OP_GET_ROWS,
                           {tensor(dt, {256, 10}, fake_base(), 0), tensor(APH_DTYPE_I32, {4}, fake_base(), 0),
                            tensor(APH_DTYPE_F32, {256, 4}, fake_base(), 0)},
                           {0, 1}, 2);
    };
    for (uint32_t dt : kAllDtypes) {
        auto f = make(dt);
        INFO("dtype " << dt);
        CHECK(cu::get_rows_unsupported(f.graph, f.node).empty());
    }
    auto f = make(APH_DTYPE_Q6_K);
    f.ts[1].dtype = APH_DTYPE_F32;
    CHECK(cu::get_rows_unsupported(f.graph, f.node).find("ids") != std::string::npos);
    f = make(APH_DTYPE_Q6_K);
    f.ts[2].ne[1] = 5;
    CHECK(cu::get_rows_unsupported(f.graph, f.node).find("dst") != std::string::npos);
}

TEST_CASE("cuda MUL_MAT workspace stays bounded (weights are never dequantised whole)", "[cuda][host]") {
    const cu::DeviceCaps caps;
    // Decode: only the q8_1 activations (k bytes + k/32 scale pairs per column), nothing for float weights.
    auto dec = mul_mat_fixture(APH_DTYPE_Q4_K, 3584, 18944, 1);
    const size_t dec_bytes = cu::mul_mat_workspace_bytes(caps, dec.graph, dec.node);
    CHECK(dec_bytes >= 3584 + 3584 / 32 * 8);
    CHECK(dec_bytes <= 3584 + 3584 / 32 * 8 + 512);
    auto decf = mul_mat_fixture(APH_DTYPE_F16, 3584, 4096, 8);
    CHECK(cu::mul_mat_workspace_bytes(caps, decf.graph, decf.node) == 0);
    // Prefill on the largest 7B (Qwen2.5) matrices. 91 tokens: the integer tile needs only the q8_1 activations.
    // 300 tokens (FP16 cuBLASLt path): activations + one ≤ 64 MiB weight chunk + the cuBLASLt scratch, far below a
    // whole dequantised copy (the output matrix alone would be 1.09 GB in FP16).
    for (auto [k, m] : {std::pair<int64_t, int64_t>{3584, 152064}, {3584, 18944}, {18944, 3584}}) {
        auto tile = mul_mat_fixture(APH_DTYPE_Q4_K, k, m, 91);
        const size_t tile_bytes = cu::mul_mat_workspace_bytes(caps, tile.graph, tile.node);
        CHECK(tile_bytes >= static_cast<size_t>(91 * k + 91 * k / 32 * 8));
        CHECK(tile_bytes <= static_cast<size_t>(91 * k + 91 * k / 32 * 8) + 512);
        auto pre = mul_mat_fixture(APH_DTYPE_Q4_K, k, m, 300);
        const size_t bytes = cu::mul_mat_workspace_bytes(caps, pre.graph, pre.node);
        INFO("k=" << k << " m=" << m << ": " << bytes << " bytes");
        CHECK(bytes <= (size_t{64} << 20) + (size_t{32} << 20) + static_cast<size_t>(300 * k * 2) + 1024);
        CHECK(bytes >= static_cast<size_t>(300 * k * 2));
    }
    // Unsupported nodes need nothing.
    auto bad = mul_mat_fixture(APH_DTYPE_Q4_K, 500, 4, 20);
    CHECK(cu::mul_mat_workspace_bytes(caps, bad.graph, bad.node) == 0);
}
