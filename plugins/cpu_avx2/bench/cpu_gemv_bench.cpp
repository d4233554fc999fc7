// GEMV/GEMM benchmark of the cpu backend plugin (not a test): for every weight dtype, MUL_MAT of a [K, M] weight
// with N = 1 (decode) and N = 32 (prefill tile) activation columns, reported as µs per op and GB/s of weight
// bytes read (median and best of the timed runs; the best is the less noise-prone on a shared machine). The plugin is loaded like the host does (dlopen + aprhost_plugin_entry) and driven through the ABI,
// so activation quantization, threading and dispatch are all included.
//
//   cpu_gemv_bench [--variant avx2|scalar] [--threads N] [--kernels auto|avx2|scalar] [--reps N] [--dtype q4_0]
//                  [--shape KxM] [--cols N] [--spin-us N] [--hot] [--short] [--plugin-dir DIR]
// --short: the decode shapes of the small models instead (short rows, where per-row costs matter): SmolLM2-135M
// (576/1536 q4_1, 576x49152 q8_0 head) and Qwen2.5-0.5B (896 q5_0, 4864x896 q6_K/q4_K), columns 1..4.
// --plugin-dir: load the plugin from DIR instead of the build's plugin directory (A/B against a saved copy).
// Default shapes 4096x4096 and 896x4864, columns 1 and 32. Weights are streamed from DRAM: each run uses the next
// of enough copies to exceed 128 MiB (these shapes alone would fit the 32 MiB L3). --hot reuses one copy; with a
// small --shape that measures the kernels' compute speed rather than memory bandwidth.
#include <aprhost/abi.h>
#include <aprhost/reference/quantize.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr size_t kColdBytes = size_t{128} << 20;

struct DtypeInfo {
    uint32_t id;
    const char* name;
};
const DtypeInfo kDtypes[] = {{APH_DTYPE_Q4_0, "q4_0"}, {APH_DTYPE_Q4_1, "q4_1"}, {APH_DTYPE_Q5_0, "q5_0"},
                             {APH_DTYPE_Q5_1, "q5_1"}, {APH_DTYPE_Q8_0, "q8_0"}, {APH_DTYPE_Q4_K, "q4_K"},
                             {APH_DTYPE_Q5_K, "q5_K"}, {APH_DTYPE_Q6_K, "q6_K"}, {APH_DTYPE_F16, "f16"},
                             {APH_DTYPE_BF16, "bf16"}, {APH_DTYPE_F32, "f32"}};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "cpu_gemv_bench: %s\n", msg.c_str());
    std::exit(1);
}

void check(aph_status st, const aph_error& err, const char* what) {
    if (st != APH_OK) die(std::string(what) + ": " + err.message);
}

aph_tensor make_tensor(uint32_t dtype, int64_t ne0, int64_t ne1, aph_buffer_t buf) {
    aph_tensor t{};
    t.dtype = dtype;
    t.n_dims = 2;
    t.ne[0] = ne0;
    t.ne[1] = ne1;
    t.ne[2] = t.ne[3] = 1;
    t.nb[0] = static_cast<int64_t>(aprhost::ref::block_bytes(dtype));
    t.nb[1] = static_cast<int64_t>(aprhost::ref::row_bytes(dtype, ne0));
    t.nb[2] = t.nb[3] = t.nb[1] * ne1;
    t.buffer = buf;
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    std::string variant = "avx2", threads, kernels, only, spin, plugin_dir = APRHOST_PLUGIN_DIR;
    bool hot = false, short_rows = false;
    int reps = 0;
    int64_t shape_k = 0, shape_m = 0, cols = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "--variant") variant = next();
        else if (a == "--threads") threads = next();
        else if (a == "--kernels") kernels = next();
        else if (a == "--spin-us") spin = next();
        else if (a == "--hot") hot = true;
        else if (a == "--short") short_rows = true;
        else if (a == "--plugin-dir") plugin_dir = next();
        else if (a == "--reps") reps = std::atoi(next().c_str());
        else if (a == "--dtype") only = next();
        else if (a == "--shape") {
            const std::string v = next();
            if (std::sscanf(v.c_str(), "%lldx%lld", reinterpret_cast<long long*>(&shape_k),
                            reinterpret_cast<long long*>(&shape_m)) != 2)
                die("--shape wants KxM, e.g. 4096x4096");
        } else if (a == "--cols") cols = std::atoll(next().c_str());
        else die("unknown argument " + a);
    }
    const std::string path = plugin_dir + "/libaprhost-backend-cpu-" + variant + ".so";
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) die(std::string("dlopen: ") + dlerror());
    auto entry = reinterpret_cast<aph_plugin_entry_fn>(dlsym(lib, APH_ENTRY_SYMBOL));
    if (!entry) die("no entry symbol in " + path);
    const auto* vt = static_cast<const aph_backend_vtable*>(entry()->vtable);

    std::vector<aph_option> opts;
    if (!threads.empty()) opts.push_back({"threads", threads.c_str()});
    if (!kernels.empty()) opts.push_back({"kernels", kernels.c_str()});
    if (!spin.empty()) opts.push_back({"spin_us", spin.c_str()});
    aph_error err{};
    void* ctx = nullptr;
    check(vt->create(nullptr, opts.data(), opts.size(), &ctx, &err), err, "create");
    aph_device_info info{};
    check(vt->device_info(ctx, &info, &err), err, "device_info");
    std::printf("device: %s | %s\n", info.name, info.detail);
    std::printf("weights: %s\n", hot ? "one copy, reused (cache-resident when small)"
                                      : "rotating copies > 128 MiB (streamed from DRAM)");
    std::printf("%-6s %6s %6s %4s %10s %8s %10s %9s %8s\n", "dtype", "K", "M", "N", "us(med)", "GB/s", "us(best)",
                "GB/s(b)", "GFLOP/s");

    struct Shape {
        int64_t k, m;
        const char* dtypes = nullptr;  // space-separated dtype names this shape is run with; null: all
    };
    std::vector<Shape> shapes = {{4096, 4096}, {896, 4864}};
    std::vector<int64_t> col_counts = {1, 32};
    if (short_rows) {
        shapes = {{576, 576, " q4_1 "},   {576, 1536, " q4_1 "}, {1536, 576, " q4_1 "},
                  {576, 49152, " q8_0 "}, {896, 896, " q5_0 "},  {896, 4864, " q5_0 "},
                  {4864, 896, " q6_K q4_K "}};
        col_counts = {1, 2, 4};
    }
    if (shape_k > 0) shapes = {{shape_k, shape_m}};
    if (cols > 0) col_counts = {cols};
    std::mt19937 rng(1);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (const Shape& s : shapes) {
        // One f32 source matrix, quantized to every dtype (K-quants need K % 256 == 0: 896 uses 3.5 blocks → skip).
        std::vector<float> src(static_cast<size_t>(s.k * s.m));
        for (auto& v : src) v = dist(rng) * 0.05f;
        for (const DtypeInfo& dt : kDtypes) {
            if (!only.empty() && only != dt.name) continue;
            if (s.dtypes && !std::strstr(s.dtypes, (std::string(" ") + dt.name + " ").c_str())) continue;
            const size_t rb = aprhost::ref::row_bytes(dt.id, s.k);
            if (rb == 0) {
                std::printf("%-6s %6lld %6lld    - (K not a multiple of the block size)\n", dt.name,
                            static_cast<long long>(s.k), static_cast<long long>(s.m));
                continue;
            }
            const size_t wbytes = rb * static_cast<size_t>(s.m);
            // Decode streams every layer's weights from DRAM: rotate over enough copies to overflow the caches
            // (unless --hot), so the numbers are not L3 hits.
            const size_t copies = hot ? 1 : std::max<size_t>(1, (kColdBytes + wbytes - 1) / wbytes);
            std::vector<std::vector<uint8_t>> w(copies, std::vector<uint8_t>(wbytes));
            aprhost::ref::quantize_row(dt.id, src.data(), w[0].data(), s.k * s.m);
            for (size_t c = 1; c < copies; ++c) std::memcpy(w[c].data(), w[0].data(), wbytes);
            std::vector<aph_buffer_t> wb(copies);
            for (size_t c = 0; c < copies; ++c)
                check(vt->buffer_import_host(ctx, w[c].data(), wbytes, &wb[c], &err), err, "import");
            aph_buffer_t xb, db;
            for (int64_t n : col_counts) {
                std::vector<float> x(static_cast<size_t>(s.k * n));
                for (auto& v : x) v = dist(rng);
                check(vt->buffer_alloc(ctx, x.size() * 4, &xb, &err), err, "alloc x");
                check(vt->buffer_upload(ctx, xb, 0, x.data(), x.size() * 4, &err), err, "upload x");
                check(vt->buffer_alloc(ctx, static_cast<uint64_t>(s.m * n) * 4, &db, &err), err, "alloc dst");
                std::vector<std::array<aph_tensor, 3>> t(copies);
                for (size_t c = 0; c < copies; ++c)
                    t[c] = {make_tensor(dt.id, s.k, s.m, wb[c]), make_tensor(APH_DTYPE_F32, s.k, n, xb),
                            make_tensor(APH_DTYPE_F32, s.m, n, db)};
                aph_node node{};
                node.op = APH_OP_MUL_MAT;
                for (auto& v : node.src) v = -1;
                node.src[0] = 0;
                node.src[1] = 1;
                node.dst = 2;
                std::vector<aph_graph> graphs(copies);
                for (size_t c = 0; c < copies; ++c) graphs[c] = aph_graph{sizeof(aph_graph), 3, t[c].data(), 1, &node};
                size_t next = 0;
                auto run_once = [&] {
                    check(vt->graph_compute(ctx, &graphs[next], &err), err, "graph_compute");
                    next = (next + 1) % copies;
                };
                // Warm up, then time `reps` runs (default: ~0.5 s worth) and report the median and the best.
                for (size_t c = 0; c < copies; ++c) run_once();
                auto t0 = std::chrono::steady_clock::now();
                run_once();
                const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                const int r = reps > 0 ? reps : std::clamp(static_cast<int>(0.5 / std::max(once, 1e-6)), 5, 2000);
                std::vector<double> times;
                for (int i = 0; i < r; ++i) {
                    t0 = std::chrono::steady_clock::now();
                    run_once();
                    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                }
                std::sort(times.begin(), times.end());
                const double med = times[times.size() / 2], best = times.front();
                std::printf("%-6s %6lld %6lld %4lld %10.1f %8.2f %10.1f %9.2f %8.2f\n", dt.name,
                            static_cast<long long>(s.k), static_cast<long long>(s.m), static_cast<long long>(n), med * 1e6,
                            wbytes / med / 1e9, best * 1e6, wbytes / best / 1e9, 2.0 * s.k * s.m * n / med / 1e9);
                std::fflush(stdout);
                vt->buffer_free(ctx, xb);
                vt->buffer_free(ctx, db);
            }
            for (aph_buffer_t b : wb) vt->buffer_free(ctx, b);
        }
    }
    vt->destroy(ctx);
    return 0;
}
