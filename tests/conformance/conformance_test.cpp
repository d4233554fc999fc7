// The conformance suite under CTest: every case on both CPU variants ("cpu" = the best-scoring one, AVX2 here,
// and "cpu-scalar") with every KV plugin of the build tree; each case must PASS or SKIP (SKIP reasons are
// printed). The same cases ship as `aprhost conformance`.
#include "conformance.hpp"
#include "op_graph.hpp"
#include "tolerances.hpp"
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <aprhost/reference/ops.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

using namespace aprhost;

namespace {

conformance::Env make_env(const core::PluginRegistry& reg, const std::string& backend) {
    conformance::Env env;
    env.registry = &reg;
    env.backend = backend;
    env.backend_options = {{"threads", "2"}};
    env.model_dir = APRHOST_TEST_DATA_DIR;
    env.smollm2 = test::smollm2_path();
    env.fixture_dir = conformance::default_fixture_dir();
    // 128 positions on SmolLM2 take a few seconds per variant; APRHOST_CONFORMANCE_QUICK=1 trims them to 32.
    if (const char* q = std::getenv("APRHOST_CONFORMANCE_QUICK"); q && std::string(q) == "1") env.smollm2_positions = 32;
    return env;
}

void run_level(const std::string& backend, const std::string& level) {
    core::PluginRegistry reg(test::build_tree_plugins());
    conformance::Env env = make_env(reg, backend);
    const auto s = conformance::run_cases(conformance::all_cases(env), env, "^" + level + "/");
    for (const auto& o : s.outcomes) {
        INFO(conformance::format_line(o));
        if (o.result.status == conformance::Status::SKIP) WARN(conformance::format_line(o));
        CHECK(o.result.status != conformance::Status::FAIL);
    }
    CHECK(s.outcomes.size() > 0);
    WARN(backend << " " << level << ": " << conformance::format_totals(s));
}

}  // namespace

TEST_CASE("conformance: op level, cpu", "[conformance][op]") { run_level("cpu", "op"); }
TEST_CASE("conformance: op level, cpu-scalar", "[conformance][op]") { run_level("cpu-scalar", "op"); }
TEST_CASE("conformance: model level, cpu", "[conformance][model]") { run_level("cpu", "model"); }
TEST_CASE("conformance: model level, cpu-scalar", "[conformance][model]") { run_level("cpu-scalar", "model"); }
TEST_CASE("conformance: ABI level (broken fixture plugins)", "[conformance][abi]") {
    REQUIRE(!conformance::default_fixture_dir().empty());
    run_level("cpu", "abi");
}

// ---- CUDA backend --------------------------------------------------------------------------------------------
// The cuda plugin runs the same op and model levels where it can; on a machine without a usable GPU (CI) it
// scores 0 and these cases SKIP with the plugin's own reason, printed as a warning.
namespace {

// The registry's line for the cuda backend plugin, or nullptr when it was not found in the build tree.
const core::PluginCandidate* cuda_candidate(const core::PluginRegistry& reg) {
    for (const auto& c : reg.report())
        if (c.kind == "backend" && c.name == "cuda") return &c;
    return nullptr;
}

void run_level_cuda(const std::string& level) {
    core::PluginRegistry reg(test::build_tree_plugins());
    const core::PluginCandidate* c = cuda_candidate(reg);
    if (c == nullptr) {
        WARN("SKIP cuda " << level << " level: the cuda plugin is not built (APRHOST_CUDA=OFF)");
        return;
    }
    if (c->status == "rejected") {
        WARN("SKIP cuda " << level << " level: " << c->reason);
        return;
    }
    run_level("cuda", level);
}

}  // namespace

TEST_CASE("conformance: op level, cuda", "[conformance][op][cuda]") { run_level_cuda("op"); }
TEST_CASE("conformance: model level, cuda", "[conformance][model][cuda]") { run_level_cuda("model"); }

TEST_CASE("conformance: the cuda plugin is built and says why it cannot run", "[conformance][cuda]") {
    core::PluginRegistry reg(test::build_tree_plugins());
    const core::PluginCandidate* c = cuda_candidate(reg);
#if defined(APRHOST_CUDA_BUILT) && APRHOST_CUDA_BUILT
    REQUIRE(c != nullptr);
    INFO("cuda plugin: " << c->status << " (" << c->reason << ")");
    CHECK(c->abi_major == APH_ABI_MAJOR);
    if (c->status == "rejected") {
        // No GPU here: score 0 with a reason naming the missing driver or device, never a load failure.
        CHECK(c->score == 0);
        const bool names_cause = c->reason.find("driver") != std::string::npos ||
                                 c->reason.find("device") != std::string::npos;
        CHECK(names_cause);
        CHECK(c->reason.find("(") != std::string::npos);  // the CUDA error code, e.g. "(35)"
        WARN("cuda plugin rejected here: " << c->reason);
    } else {
        CHECK(c->score > 0);
        WARN("cuda plugin usable here: " << c->reason);
    }
#else
    CHECK(c == nullptr);
    WARN("APRHOST_CUDA is OFF: the cuda plugin is not built");
#endif
}

// ---- Vulkan backend ------------------------------------------------------------------------------------------
// The vulkan plugin runs every op and model case on the Vulkan device; in CI that is Mesa's lavapipe (a CPU
// implementation), pinned with VK_DRIVER_FILES so a machine's other ICDs cannot change the result. Where the plugin
// is not built or scores 0 (no loader, no ICD, no usable device) the cases SKIP with the plugin's reason.
// The CTest entry conformance_tests:vulkan_validation runs the [vulkan] cases again with the Khronos validation
// layer on (APRHOST_VK_VALIDATION=1) and fails on any "vulkan validation:" message in the output.
namespace {

// Points the Vulkan loader at lavapipe and gives it a private runtime dir, unless the caller chose otherwise.
void pin_lavapipe() {
#if defined(APRHOST_LAVAPIPE_ICD)
    if (std::FILE* f = std::getenv("VK_DRIVER_FILES") ? nullptr : std::fopen(APRHOST_LAVAPIPE_ICD, "r")) {
        std::fclose(f);
        setenv("VK_DRIVER_FILES", APRHOST_LAVAPIPE_ICD, 1);
    }
#endif
#if defined(APRHOST_TEST_XDG_RUNTIME_DIR)
    if (!std::getenv("XDG_RUNTIME_DIR")) setenv("XDG_RUNTIME_DIR", APRHOST_TEST_XDG_RUNTIME_DIR, 1);
#endif
}

const core::PluginCandidate* vulkan_candidate(const core::PluginRegistry& reg) {
    for (const auto& c : reg.report())
        if (c.kind == "backend" && c.name == "vulkan") return &c;
    return nullptr;
}

// "" when the vulkan backend can run here, else why the cases skip.
std::string vulkan_skip_reason() {
    pin_lavapipe();
    core::PluginRegistry reg(test::build_tree_plugins());
    const core::PluginCandidate* c = vulkan_candidate(reg);
    if (c == nullptr) return "the vulkan plugin is not built (APRHOST_VULKAN=OFF)";
    if (c->status == "rejected" || c->score == 0) return "the vulkan plugin cannot run here: " + c->reason;
    return "";
}

// extra_options: backend options on top of the suite's (e.g. subgroups=0 to run the fallback shaders); filter: a
// regular expression on the case ids, "" for every case of the level.
void run_level_vulkan(const std::string& level, const std::map<std::string, std::string>& extra_options = {},
                      const std::string& filter = "") {
    if (const std::string why = vulkan_skip_reason(); !why.empty()) {
        WARN("SKIP vulkan " << level << " level: " << why);
        return;
    }
    core::PluginRegistry reg(test::build_tree_plugins());
    conformance::Env env = make_env(reg, "vulkan");
    for (const auto& [k, v] : extra_options) env.backend_options[k] = v;
    // Every case runs as on the CPU backends (on lavapipe the model level takes about 75 s, SmolLM2 decode steps
    // ~0.2 s each; APRHOST_CONFORMANCE_QUICK=1 trims the SmolLM2 KV invariant to 32 positions as for the CPU).
    const auto s = conformance::run_cases(conformance::all_cases(env), env, filter.empty() ? "^" + level + "/" : filter);
    for (const auto& o : s.outcomes) {
        INFO(conformance::format_line(o));
        if (o.result.status == conformance::Status::SKIP) WARN(conformance::format_line(o));
        CHECK(o.result.status != conformance::Status::FAIL);
    }
    CHECK(s.outcomes.size() > 0);
    WARN("vulkan " << level << ": " << conformance::format_totals(s));
}

}  // namespace

TEST_CASE("conformance: op level, vulkan", "[conformance][op][vulkan]") { run_level_vulkan("op"); }
TEST_CASE("conformance: model level, vulkan", "[conformance][model][vulkan]") { run_level_vulkan("model"); }
// The same op cases through the fallback shaders: shared-memory reductions instead of subgroup arithmetic
// (*_nosg) and ROPE angles in f32 (rope_f32), as a device without those features would run them; and with
// staged transfers (staging buffers + copy commands, the discrete-GPU path) instead of mapped memory.
TEST_CASE("conformance: op level, vulkan without subgroup arithmetic and fp64, staged transfers", "[conformance][op][vulkan]") {
    run_level_vulkan("op", {{"subgroups", "0"}, {"fp64", "0"}, {"staging", "1"}});
}

// The quantised kernels' multi-window paths on the suite's small shapes: max_binding_bytes=65536 cuts the larger
// MUL_MAT weights into row windows and x/dst (n = 70) into column chunks. GET_ROWS tables (13 rows) stay under
// 64 KiB, so GET_ROWS runs once more at 4096 bytes, where its tables span several windows. Only MUL_MAT and
// GET_ROWS split tensors; the other ops bind tensors whole and report "more than one binding" for larger ones,
// hence the filter. The over-128MiB cases are left out: they already run in several windows at the device's own
// limit, and at 64 KiB would take ~10^5 dispatches on lavapipe.
TEST_CASE("conformance: op level, vulkan mul_mat and get_rows in 64 KiB binding windows", "[conformance][op][vulkan]") {
    run_level_vulkan("op", {{"max_binding_bytes", "65536"}}, "^op/(mul_mat|get_rows)\\((?!.*over-128MiB)");
    run_level_vulkan("op", {{"max_binding_bytes", "4096"}}, "^op/get_rows\\((?!.*over-128MiB)");
}

TEST_CASE("conformance: vulkan refuses a bad max_binding_bytes with its reason", "[conformance][vulkan]") {
    if (const std::string why = vulkan_skip_reason(); !why.empty()) {
        WARN("SKIP: " << why);
        return;
    }
    core::PluginRegistry reg(test::build_tree_plugins());
    auto plugin = reg.get(APH_PLUGIN_BACKEND, "vulkan");
    CHECK_THROWS_WITH(core::BackendContext::create(plugin, {{"max_binding_bytes", "4095"}}),
                      Catch::Contains("max_binding_bytes=4095 must be in [4096, "));
    CHECK_THROWS_WITH(core::BackendContext::create(plugin, {{"max_binding_bytes", "1099511627776"}}),
                      Catch::Contains("max_binding_bytes=1099511627776 must be in [4096, "));
    CHECK_THROWS_WITH(core::BackendContext::create(plugin, {{"max_binding_bytes", "64k"}}),
                      Catch::Contains("max_binding_bytes='64k' is not an integer"));
    CHECK_NOTHROW(core::BackendContext::create(plugin, {{"max_binding_bytes", "4096"}}));
    // A tensor larger than the lowered limit is refused with the binding reason by an op that binds it whole.
    auto be = core::BackendContext::create(plugin, {{"max_binding_bytes", "65536"}});
    conformance::OpGraph g(be);
    const int tx = g.add_f32({4096, 8}, conformance::randn(4096 * 8, 1));
    const int ty = g.add(APH_DTYPE_F32, {4096, 8});
    g.node(APH_OP_SCALE, {tx}, ty, {}, {2.0f});
    CHECK_THAT(g.unsupported(), Catch::Contains("more than one binding (65536)"));
}

// Shapes beyond the suite's op cases that exercise the Vulkan kernels' structure: attention over several tiles of
// 64 kv entries (the online-softmax rescaling) with head_dim 128 and 256 (several output dims per invocation),
// paged with a scrambled block table; ROPE at large positions (angle reduction) with head_dim 128.
TEST_CASE("conformance: vulkan attention over many kv tiles and wide heads, rope at large positions", "[conformance][op][vulkan]") {
    if (const std::string why = vulkan_skip_reason(); !why.empty()) {
        WARN("SKIP: " << why);
        return;
    }
    core::PluginRegistry reg(test::build_tree_plugins());
    struct Len { int64_t n_q, n_kv; };
    // (8, 260): 64 (head, query) pairs over 260 entries are split in three; query 0 sees 253 entries, so its
    // third split is empty.
    const Len lens[] = {{1, 300}, {3, 300}, {8, 260}};
    for (const char* subgroups : {"1", "0"}) {
        auto ctx = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "vulkan"), {{"subgroups", subgroups}});
        for (uint32_t dt : {APH_DTYPE_F32, APH_DTYPE_F16})
            for (int64_t hd : {128, 256})
                for (const Len l : lens) {
                    const int64_t n_q = l.n_q, n_kv = l.n_kv;
                    const int64_t heads = 8, kvh = 2, row = hd * kvh, bs = 16;
                    const int64_t n_blocks = (n_kv + bs - 1) / bs, slots = (n_blocks + 3) * bs;
                    std::vector<int32_t> table(static_cast<size_t>(n_blocks));
                    for (int64_t b = 0; b < n_blocks; ++b) table[size_t(b)] = int32_t((b * 7 + 3) % (n_blocks + 3));
                    std::vector<float> kf(size_t(row * slots), NAN), vf(kf.size(), NAN);
                    const auto kr = conformance::randn(size_t(row * n_kv), 201, 2.0f), vr = conformance::randn(size_t(row * n_kv), 202);
                    for (int64_t i = 0; i < n_kv; ++i) {
                        const int64_t slot = ref::kv_slot(table.data(), bs, i);
                        std::copy_n(kr.begin() + i * row, row, kf.begin() + slot * row);
                        std::copy_n(vr.begin() + i * row, row, vf.begin() + slot * row);
                    }
                    std::vector<uint8_t> kc(conformance::dtype_row_bytes(dt, row * slots)), vc(kc.size());
                    ref::quantize_row(dt, kf.data(), kc.data(), row * slots);
                    ref::quantize_row(dt, vf.data(), vc.data(), row * slots);
                    const auto q = conformance::randn(size_t(hd * heads * n_q), 203);
                    const float scale = 1.0f / std::sqrt(float(hd));
                    conformance::OpGraph g(ctx);
                    const int tq = g.add_f32({hd, heads, n_q}, q);
                    const int tk = g.add(dt, {row, slots}, kc.data()), tv = g.add(dt, {row, slots}, vc.data());
                    const int tt = g.add_i32(table);
                    const int ty = g.add(APH_DTYPE_F32, {hd, heads, n_q});
                    g.node(APH_OP_ATTENTION, {tq, tk, tv, tt}, ty, {int32_t(n_kv), int32_t(bs)}, {scale});
                    INFO("attention cache=" << conformance::dtype_label(dt) << " hd=" << hd << " n_q=" << n_q << " n_kv=" << n_kv
                                             << " subgroups=" << subgroups);
                    REQUIRE(g.unsupported().empty());
                    g.compute();
                    std::vector<float> kd(size_t(row * n_kv)), vd(kd.size()), want(q.size());
                    ref::gather_kv_rows(dt, kc.data(), row, table.data(), bs, n_kv, kd.data());
                    ref::gather_kv_rows(dt, vc.data(), row, table.data(), bs, n_kv, vd.data());
                    ref::attention(q.data(), kd.data(), vd.data(), hd, heads, kvh, n_q, n_kv, scale, want.data());
                    const auto got = g.f32(ty);
                    CHECK(conformance::non_finite(got, want).empty());
                    CHECK(g.sentinel_violation().empty());
                    CHECK(conformance::nmse(got, want) <= conformance::kTolAttention);
                }
    }
    auto ctx = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "vulkan"), {});
    for (int mode : {APH_ROPE_NORM, APH_ROPE_NEOX}) {
        const int64_t hd = 128, heads = 4, n = 4;
        conformance::OpGraph g(ctx);
        const auto x = conformance::randn(size_t(hd * heads * n), 211);
        const std::vector<int32_t> pos = {131071, 32768, 100000, 7};
        const int tx = g.add_f32({hd, heads, n}, x), tp = g.add_i32(pos), ty = g.add(APH_DTYPE_F32, {hd, heads, n});
        g.node(APH_OP_ROPE, {tx, tp}, ty, {mode, 96}, {1e6f, 1.0f});
        REQUIRE(g.unsupported().empty());
        g.compute();
        std::vector<float> want = x;
        ref::rope(want.data(), hd, heads, n, pos.data(), mode, 96, 1e6f, 1.0f);
        INFO("rope mode " << mode);
        CHECK(conformance::nmse(g.f32(ty), want) <= conformance::kTolRope);
    }
}

TEST_CASE("conformance: the vulkan plugin lists its devices or says why it cannot run", "[conformance][vulkan]") {
    pin_lavapipe();
    core::PluginRegistry reg(test::build_tree_plugins());
    const core::PluginCandidate* c = vulkan_candidate(reg);
#if defined(APRHOST_VULKAN_BUILT) && APRHOST_VULKAN_BUILT
    REQUIRE(c != nullptr);
    INFO("vulkan plugin: " << c->status << " (" << c->reason << ")");
    CHECK(c->abi_major == APH_ABI_MAJOR);
    CHECK(!c->reason.empty());
    if (c->score > 0) {
        // "[0*] llvmpipe (...) (cpu): Vulkan 1.3.230, subgroup 8 (arithmetic), ...": index, chosen mark, features.
        CHECK(c->reason.find("[0") != std::string::npos);
        CHECK(c->reason.find("Vulkan 1.") != std::string::npos);
        CHECK(c->reason.find('*') != std::string::npos);
        auto be = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "vulkan"), {{"device", "0"}});
        CHECK(std::string(be->device().detail).find("device 0") != std::string::npos);
        // An index past the last device is a usage error naming the option, not a crash.
        CHECK_THROWS_WITH(core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "vulkan"), {{"device", "99"}}),
                          Catch::Contains("device=99"));
        CHECK_THROWS_WITH(core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "vulkan"), {{"bogus", "1"}}),
                          Catch::Contains("bogus"));
    } else {
        WARN("vulkan plugin cannot run here: " << c->reason);
    }
#else
    CHECK(c == nullptr);
    WARN("APRHOST_VULKAN is OFF: the vulkan plugin is not built");
#endif
}

// With the validation layer on, a validation message must surface as an error of the backend (here: context
// creation, after the plugin's self-test makes one deliberately invalid call). Not tagged [vulkan]: the
// validation CTest run fails on any validation message in its output, and this case produces one on purpose.
TEST_CASE("conformance: vulkan validation messages become errors", "[conformance][vulkan_selftest]") {
    if (const std::string why = vulkan_skip_reason(); !why.empty()) {
        WARN("SKIP: " << why);
        return;
    }
    core::PluginRegistry reg(test::build_tree_plugins());
    auto plugin = reg.get(APH_PLUGIN_BACKEND, "vulkan");
    // Without the layer (or without the self-test) creation succeeds.
    CHECK_NOTHROW(core::BackendContext::create(plugin, {{"validation", "0"}, {"validation_selftest", "1"}}));
    try {
        auto be = core::BackendContext::create(plugin, {{"validation", "1"}});
        CHECK(std::string(be->device().detail).find("validation on") != std::string::npos);
    } catch (const std::exception& e) {
        WARN("SKIP: validation layer unavailable: " << e.what());
        return;
    }
    CHECK_THROWS_WITH(core::BackendContext::create(plugin, {{"validation", "1"}, {"validation_selftest", "1"}}),
                      Catch::Contains("vulkan validation"));
}
