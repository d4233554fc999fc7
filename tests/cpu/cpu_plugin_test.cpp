// The cpu backend as a plugin: descriptors and scores of both variants, options, device info, buffers (owned,
// mapped, imported zero-copy), stats, error statuses (unsupported op, out-of-bounds tensor, abort flag).
#include "cpu_test_harness.hpp"
#include "cpu_tolerances.hpp"

#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace cputest;

TEST_CASE("Both variants load with the right descriptor and score", "[cpu][plugin]") {
    for (const char* variant : kVariants) {
        const Plugin& p = Plugin::get(variant);
        INFO(p.path);
        REQUIRE(p.desc != nullptr);
        CHECK(p.desc->abi_major == APH_ABI_MAJOR);
        CHECK(p.desc->struct_size == sizeof(aph_plugin_desc));
        CHECK(p.desc->kind == APH_PLUGIN_BACKEND);
        CHECK(std::string(p.desc->name) == "cpu");
        CHECK(std::string(p.desc->variant) == variant);
        REQUIRE(p.vt->struct_size == sizeof(aph_backend_vtable));
        CHECK(p.vt->buffer_map != nullptr);
        CHECK(p.vt->buffer_import_host != nullptr);
        CHECK(p.vt->stats != nullptr);
        REQUIRE(p.score != nullptr);
        aph_error why{};
        const uint32_t s = p.score(&why);
        if (std::string(variant) == "scalar") {
            CHECK(s == 10);
            CHECK(std::string(why.message) == "portable fallback");
        } else {
            // The machines this project runs on have AVX2/FMA/F16C; elsewhere the variant must say why not.
            CHECK((s == 20 || (s == 0 && std::string(why.message) == "CPU lacks AVX2/FMA/F16C")));
        }
    }
}

TEST_CASE("Options: threads, kernels, spin_us; unknown keys are rejected", "[cpu][plugin]") {
    const Plugin& avx2 = Plugin::get("avx2");
    const Plugin& scalar = Plugin::get("scalar");
    {
        Backend be(avx2, {{"bogus", "1"}});
        CHECK(be.create_status == APH_STATUS_INVALID_ARGUMENT);
        CHECK(be.create_error.find("bogus") != std::string::npos);
    }
    for (const char* bad : {"0", "-1", "abc", "100000"}) {
        Backend be(avx2, {{"threads", bad}});
        CHECK(be.create_status == APH_STATUS_INVALID_ARGUMENT);
    }
    {
        Backend be(scalar, {{"kernels", "avx2"}});
        CHECK(be.create_status == APH_STATUS_INVALID_ARGUMENT);
    }
    {
        Backend be(avx2, {{"kernels", "nonsense"}});
        CHECK(be.create_status == APH_STATUS_INVALID_ARGUMENT);
    }
    {
        Backend be(avx2, {{"threads", "3"}, {"kernels", "scalar"}, {"spin_us", "0"}});
        REQUIRE(be.ok());
        aph_device_info info{};
        aph_error err{};
        REQUIRE(avx2.vt->device_info(be.ctx, &info, &err) == APH_OK);
        CHECK(std::string(info.name).find("(3 threads)") != std::string::npos);
        CHECK(std::string(info.detail).find("kernels scalar") != std::string::npos);
    }
}

TEST_CASE("device_info describes the CPU, its memory and the kernels in use", "[cpu][plugin]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        REQUIRE(be.ok());
        aph_device_info info{};
        aph_error err{};
        REQUIRE(be.plugin.vt->device_info(be.ctx, &info, &err) == APH_OK);
        INFO(info.name << " | " << info.detail);
        CHECK(info.struct_size == sizeof(aph_device_info));
        CHECK(std::strlen(info.name) > 0);
        CHECK(std::string(info.name).find("threads") != std::string::npos);
        CHECK(std::string(info.detail).find(std::string("variant ") + variant) != std::string::npos);
        if (std::string(variant) == "scalar") CHECK(std::string(info.detail).find("kernels scalar") != std::string::npos);
        CHECK(info.memory_total > 0);
        CHECK(info.memory_free <= info.memory_total);
        CHECK((info.flags & APH_DEVICE_HOST_VISIBLE) != 0);
        CHECK((info.flags & APH_DEVICE_IMPORT_HOST) != 0);
    }
}

TEST_CASE("Buffers: alloc/upload/download/map, zero-copy import, bounds, stats", "[cpu][plugin]") {
    Backend be(Plugin::get("avx2"));
    const aph_backend_vtable* vt = be.plugin.vt;
    aph_error err{};
    aph_buffer_t b = nullptr;
    REQUIRE(vt->buffer_alloc(be.ctx, 1000, &b, &err) == APH_OK);
    void* p = nullptr;
    REQUIRE(vt->buffer_map(be.ctx, b, &p, &err) == APH_OK);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    std::vector<uint8_t> data(1000);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
    REQUIRE(vt->buffer_upload(be.ctx, b, 0, data.data(), data.size(), &err) == APH_OK);
    CHECK(std::memcmp(p, data.data(), data.size()) == 0);
    std::vector<uint8_t> back(10);
    REQUIRE(vt->buffer_download(be.ctx, b, 990, back.data(), 10, &err) == APH_OK);
    CHECK(std::memcmp(back.data(), data.data() + 990, 10) == 0);
    CHECK(vt->buffer_upload(be.ctx, b, 995, data.data(), 10, &err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(vt->buffer_download(be.ctx, b, 1001, back.data(), 0, &err) == APH_STATUS_INVALID_ARGUMENT);

    // Imported host memory is used in place: map returns the caller's pointer, nothing is copied.
    std::vector<float> host(64, 2.5f);
    aph_buffer_t imp = nullptr;
    REQUIRE(vt->buffer_import_host(be.ctx, host.data(), host.size() * 4, &imp, &err) == APH_OK);
    void* ip = nullptr;
    REQUIRE(vt->buffer_map(be.ctx, imp, &ip, &err) == APH_OK);
    CHECK(ip == host.data());
    host[3] = 7.0f;
    float got = 0.0f;
    REQUIRE(vt->buffer_download(be.ctx, imp, 12, &got, 4, &err) == APH_OK);
    CHECK(got == 7.0f);

    aph_backend_stats st{};
    vt->stats(be.ctx, &st);
    CHECK(st.struct_size == sizeof(aph_backend_stats));
    CHECK(st.bytes_allocated == 1000);  // imported memory is not ours
    vt->buffer_free(be.ctx, imp);
    vt->buffer_free(be.ctx, b);
    vt->buffer_free(be.ctx, nullptr);
    vt->stats(be.ctx, &st);
    CHECK(st.bytes_allocated == 0);
}

TEST_CASE("MUL_MAT reads weights from imported host memory (zero copy)", "[cpu][plugin]") {
    for (const char* variant : kVariants) {
        Backend be(Plugin::get(variant));
        const aph_backend_vtable* vt = be.plugin.vt;
        const int64_t k = 256, m = 9;
        const std::vector<uint8_t> w = make_weights(APH_DTYPE_Q4_K, k, m, 3, true);
        aph_error err{};
        aph_buffer_t wb = nullptr;
        REQUIRE(vt->buffer_import_host(be.ctx, w.data(), w.size(), &wb, &err) == APH_OK);
        Graph g(be);
        const std::vector<float> x = randn(static_cast<size_t>(k), 4);
        const int tx = g.add_f32({k, 1}, x);
        const int td = g.add(APH_DTYPE_F32, {m, 1});
        const int tw = g.add(APH_DTYPE_F32, {1});  // placeholder slot, rewritten as a view of the import below
        aph_tensor& t = g.tensor(tw);
        t.dtype = APH_DTYPE_Q4_K;
        t.n_dims = 2;
        t.ne[0] = k;
        t.ne[1] = m;
        t.nb[0] = 144;
        t.nb[1] = 144;
        t.nb[2] = t.nb[3] = 144 * m;
        t.buffer = wb;
        t.offset = 0;
        g.node(APH_OP_MUL_MAT, {tw, tx}, td);
        REQUIRE(g.compute() == APH_OK);
        std::vector<float> ref(static_cast<size_t>(m));
        aprhost::ref::matmul(APH_DTYPE_Q4_K, w.data(), k, m, x.data(), 1, nullptr, ref.data());
        CHECK(nmse(g.f32(td), ref) < kTolQuantMatmul);
        vt->buffer_free(be.ctx, wb);
        aph_backend_stats st{};
        vt->stats(be.ctx, &st);
        CHECK(st.graphs_computed == 1);
        CHECK(st.nodes_computed == 1);
    }
}

TEST_CASE("Errors: unsupported op, tensor past its buffer, abort flag", "[cpu][plugin]") {
    Backend be(Plugin::get("avx2"));
    {
        Graph g(be);
        const int a = g.add_f32({8}, randn(8, 1));
        g.node(static_cast<aph_op>(APH_OP_COUNT_ + 3), {a}, a);
        std::string why;
        CHECK(g.supports(0, &why) == APH_STATUS_UNSUPPORTED);
        CHECK(g.compute(&why) == APH_STATUS_UNSUPPORTED);
        CHECK(why.find("node 0") != std::string::npos);
    }
    {
        Graph g(be);
        const int a = g.add_f32({8, 2}, randn(16, 1));
        const int d = g.add(APH_DTYPE_F32, {8, 2});
        g.tensor(d).ne[1] = 5;  // now reaches past its buffer
        g.tensor(a).ne[1] = 5;
        g.node(APH_OP_SCALE, {a}, d, {}, {2.0f});
        std::string why;
        CHECK(g.compute(&why) == APH_STATUS_INVALID_ARGUMENT);
        CHECK(why.find("past its buffer") != std::string::npos);
    }
    {
        Graph g(be);
        const int a = g.add_f32({8, 2}, randn(16, 1), 4);
        g.tensor(a).nb[1] = 34;  // f32 rows 2-byte aligned
        g.node(APH_OP_SCALE, {a}, a, {}, {2.0f});
        std::string why;
        CHECK(g.supports(0, &why) == APH_STATUS_UNSUPPORTED);
        CHECK(why.find("multiples of 4") != std::string::npos);
    }
    {
        // A context created with a raised abort flag refuses to run graphs.
        volatile int32_t flag = 1;
        aph_host_services host{};
        host.struct_size = sizeof(host);
        host.abort_flag = &flag;
        const Plugin& p = Plugin::get("avx2");
        void* ctx = nullptr;
        aph_error err{};
        REQUIRE(p.vt->create(&host, nullptr, 0, &ctx, &err) == APH_OK);
        aph_buffer_t b = nullptr;
        REQUIRE(p.vt->buffer_alloc(ctx, 64, &b, &err) == APH_OK);
        aph_tensor t{};
        t.dtype = APH_DTYPE_F32;
        t.n_dims = 1;
        t.ne[0] = 16;
        t.ne[1] = t.ne[2] = t.ne[3] = 1;
        t.nb[0] = 4;
        t.nb[1] = t.nb[2] = t.nb[3] = 64;
        t.buffer = b;
        aph_node n{};
        n.op = APH_OP_SCALE;
        for (auto& s : n.src) s = -1;
        n.src[0] = 0;
        n.dst = 0;
        aph_graph g{sizeof(aph_graph), 1, &t, 1, &n};
        CHECK(p.vt->graph_compute(ctx, &g, &err) == APH_STATUS_ABORTED);
        flag = 0;
        CHECK(p.vt->graph_compute(ctx, &g, &err) == APH_OK);
        p.vt->buffer_free(ctx, b);
        p.vt->destroy(ctx);
    }
}

TEST_CASE("The avx2 plugin forced to scalar kernels matches the scalar plugin bit for bit", "[cpu][plugin]") {
    Backend forced(Plugin::get("avx2"), {{"kernels", "scalar"}});
    Backend scalar(Plugin::get("scalar"));
    const int64_t k = 512, m = 33, n = 3;
    for (uint32_t dtype : kWeightDtypes) {
        const int64_t kk = is_float_weight(dtype) ? k + 5 : k;
        const std::vector<uint8_t> w = make_weights(dtype, kk, m, 12, true);
        const std::vector<float> x = randn(static_cast<size_t>(kk * n), 13);
        std::vector<float> out[2];
        int i = 0;
        for (Backend* be : {&forced, &scalar}) {
            Graph g(*be);
            const int tw = g.add(dtype, {kk, m}, w.data());
            const int tx = g.add_f32({kk, n}, x);
            const int td = g.add(APH_DTYPE_F32, {m, n});
            g.node(APH_OP_MUL_MAT, {tw, tx}, td);
            REQUIRE(g.compute() == APH_OK);
            out[i++] = g.f32(td);
        }
        INFO(dtype_name(dtype));
        CHECK(std::memcmp(out[0].data(), out[1].data(), out[0].size() * 4) == 0);
    }
}
