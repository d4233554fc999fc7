// ABI-level cases: the host (core::PluginRegistry, core::BackendContext) against deliberately broken fixture
// plugins (tests/conformance/fixtures): each is refused with its documented one-line message — or, for a
// descriptor from a newer minor, accepted and used — and the host keeps running. Plus load → use → unload of the
// backend under test, repeated, for AddressSanitizer builds to watch.
#include "conformance.hpp"
#include "op_graph.hpp"

#include <aprhost/core/error.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace aprhost::conformance {

std::string default_fixture_dir() {
#ifdef APRHOST_CONFORMANCE_FIXTURE_DIR
    if (std::filesystem::is_directory(APRHOST_CONFORMANCE_FIXTURE_DIR)) return APRHOST_CONFORMANCE_FIXTURE_DIR;
#endif
    return "";
}

namespace {

std::string fixture_path(const Env& env, const std::string& name) {
    return env.fixture_dir + "/libaprhost-backend-fx_" + name + ".so";
}

core::RegistryOptions only_files(std::vector<std::string> files) {
    core::RegistryOptions o;
    o.plugin_files = std::move(files);
    o.use_environment = false;
    o.use_default_dirs = false;
    return o;
}

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos && s.find('\r') == std::string::npos; }

// Loads one fixture alone; PASS when it is rejected with a reason containing `expected`.
Result expect_rejected(Env& env, const std::string& name, const std::string& expected) {
    if (env.fixture_dir.empty()) return Result::skip("fixture plugins not built (they live in the build tree only)");
    const std::string path = fixture_path(env, name);
    if (!std::filesystem::exists(path)) return Result::skip("fixture " + path + " missing");
    core::PluginRegistry reg(only_files({path}));
    if (reg.report().size() != 1) return Result::fail("registry did not report the fixture");
    const core::PluginCandidate& c = reg.report()[0];
    if (c.status != "rejected") return Result::fail("fixture was accepted (status " + c.status + ")");
    if (c.reason.find(expected) == std::string::npos)
        return Result::fail("reason '" + c.reason + "' lacks '" + expected + "'");
    if (!one_line(c.reason)) return Result::fail("reason is not one line");
    // The refusal is also what `get` reports, and the host goes on.
    try {
        reg.get(APH_PLUGIN_BACKEND, "fx_" + name);
        return Result::fail("get() returned a rejected plugin");
    } catch (const core::Error& e) {
        if (e.kind() != core::ErrorKind::PLUGIN) return Result::fail(std::string("get() raised the wrong kind: ") + e.what());
    }
    return Result::pass("refused: " + c.reason);
}

// Runs f, expecting a core::Error of `kind` whose one-line message contains `expected`.
template <class F>
std::string expect_error(F&& f, core::ErrorKind kind, const std::string& expected, const char* what) {
    try {
        f();
    } catch (const core::Error& e) {
        const std::string msg = e.what();
        if (e.kind() != kind) return fmt::format("{}: error kind {} ({})", what, int(e.kind()), msg);
        if (msg.find(expected) == std::string::npos) return fmt::format("{}: message '{}' lacks '{}'", what, msg, expected);
        if (!one_line(msg)) return fmt::format("{}: message is not one line", what);
        return "";
    } catch (const std::exception& e) {
        return fmt::format("{}: escaped as a non-host exception: {}", what, e.what());
    }
    return fmt::format("{}: no error raised", what);
}

Result large_descriptor(Env& env) {
    if (env.fixture_dir.empty()) return Result::skip("fixture plugins not built (they live in the build tree only)");
    const std::string path = fixture_path(env, "large_desc");
    if (!std::filesystem::exists(path)) return Result::skip("fixture " + path + " missing");
    core::PluginRegistry reg(only_files({path}));
    const core::PluginCandidate& c = reg.report().at(0);
    if (c.status != "selected") return Result::fail("larger descriptor refused: " + c.reason);
    auto ctx = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "fx_large_desc"), {});
    auto buf = ctx->alloc(64, "probe");
    const char msg[] = "load, use, unload";
    buf->upload(3, msg, sizeof msg);
    char back[sizeof msg] = {};
    buf->download(3, back, sizeof back);
    if (std::string(back) != msg) return Result::fail("round trip through its buffers lost data");
    return Result::pass(fmt::format("accepted (abi minor {}, descriptor larger than the host's) and used", c.abi_minor));
}

Result failing_calls(Env& env) {
    if (env.fixture_dir.empty()) return Result::skip("fixture plugins not built (they live in the build tree only)");
    core::PluginRegistry reg(only_files({fixture_path(env, "failing")}));
    auto plugin = reg.get(APH_PLUGIN_BACKEND, "fx_failing");
    std::string bad = expect_error([&] { core::BackendContext::create(plugin, {{"fail_create", "1"}}); },
                                   core::ErrorKind::PLUGIN, "fixture: no device present", "create");
    if (!bad.empty()) return Result::fail(bad);
    auto ctx = core::BackendContext::create(plugin, {});
    bad = expect_error([&] { ctx->alloc(16, "probe"); }, core::ErrorKind::RESOURCE, "fixture: device memory exhausted",
                       "buffer_alloc");
    if (!bad.empty()) return Result::fail(bad);
    aph_graph g{};
    g.struct_size = sizeof g;
    bad = expect_error([&] { ctx->compute(g); }, core::ErrorKind::PLUGIN, "fixture: device lost", "graph_compute");
    if (!bad.empty()) return Result::fail(bad);
    return Result::pass("create, buffer_alloc and graph_compute failures each became a one-line host error");
}

Result throwing_calls(Env& env) {
    if (env.fixture_dir.empty()) return Result::skip("fixture plugins not built (they live in the build tree only)");
    core::PluginRegistry reg(only_files({fixture_path(env, "throwing")}));
    auto ctx = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, "fx_throwing"), {});
    std::string bad = expect_error([&] { ctx->alloc(uint64_t(1) << 41, "huge"); }, core::ErrorKind::RESOURCE,
                                   "out of memory", "std::bad_alloc in buffer_alloc");
    if (!bad.empty()) return Result::fail(bad);
    auto buf = ctx->alloc(16, "probe");
    bad = expect_error([&] { buf->upload(0, "x", 1); }, core::ErrorKind::PLUGIN,
                       "internal error: fixture: upload exploded with a second line", "std::runtime_error in upload");
    if (!bad.empty()) return Result::fail(bad);
    aph_graph g{};
    g.struct_size = sizeof g;
    bad = expect_error([&] { ctx->compute(g); }, core::ErrorKind::PLUGIN, "internal error: unknown exception",
                       "int thrown in graph_compute");
    if (!bad.empty()) return Result::fail(bad);
    // A throwing supports() is a plugin failure (PLUGIN error), never mistaken for "unsupported" (a SKIP).
    bad = expect_error([&] { ctx->unsupported_reason(g, 0); }, core::ErrorKind::PLUGIN,
                       "internal error: fixture: supports threw", "std::logic_error in supports");
    if (!bad.empty()) return Result::fail(bad);
    return Result::pass("bad_alloc, runtime_error, logic_error and a thrown int each became a status + one-line message");
}

// Every fixture at once next to the backend under test: the bad ones are refused, the good ones still work.
Result host_keeps_running(Env& env) {
    if (env.fixture_dir.empty()) return Result::skip("fixture plugins not built (they live in the build tree only)");
    const std::string real = env.registry->get(APH_PLUGIN_BACKEND, env.backend)->path;
    core::RegistryOptions o = only_files({real});
    o.plugin_dirs = {env.fixture_dir};
    core::PluginRegistry reg(o);
    int rejected = 0, accepted = 0;
    for (auto& c : reg.report()) (c.status == "rejected" ? rejected : accepted)++;
    if (rejected != 4) return Result::fail(fmt::format("{} fixtures rejected, expected 4", rejected));
    const std::string name = env.registry->get(APH_PLUGIN_BACKEND, env.backend)->name;
    auto ctx = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, name), env.backend_options);
    (void)ctx->alloc(64, "probe");
    return Result::pass(fmt::format("{} refused, {} accepted; the backend under test still creates contexts", rejected, accepted));
}

// Loads the backend under test in a fresh registry, runs a small MUL_MAT, unloads; three times.
Result load_use_unload(Env& env) {
    const std::string path = env.registry->get(APH_PLUGIN_BACKEND, env.backend)->path;
    for (int round = 0; round < 3; ++round) {
        core::PluginRegistry reg(only_files({path}));
        auto plugin = reg.plugins(APH_PLUGIN_BACKEND);
        if (plugin.empty()) return Result::fail("reloading " + path + " failed");
        auto ctx = core::BackendContext::create(plugin.front(), env.backend_options);
        OpGraph g(ctx);
        const std::vector<float> w = randn(64 * 8, 1), x = randn(64, 2);
        const int tw = g.add_f32({64, 8}, w), tx = g.add_f32({64, 1}, x), ty = g.add(APH_DTYPE_F32, {8, 1});
        g.node(APH_OP_MUL_MAT, {tw, tx}, ty);
        if (auto why = g.unsupported(); !why.empty()) return Result::skip("f32 MUL_MAT unsupported: " + why);
        g.compute();
        if (!non_finite(g.f32(ty), std::vector<float>(8, 0.0f)).empty()) return Result::fail("non-finite output");
    }  // graph → context → plugin → library, in that order
    return Result::pass("3 rounds of load → compute → unload (under AddressSanitizer: configure -DAPRHOST_ASAN=ON, ctest -L conformance)");
}

}  // namespace

std::vector<Case> abi_cases() {
    std::vector<Case> out;
    out.push_back({"abi/wrong_major", "", [](Env& e) { return expect_rejected(e, "wrong_major", "ABI major version " + std::to_string(APH_ABI_MAJOR + 1)); }});
    out.push_back({"abi/missing_entry", "", [](Env& e) { return expect_rejected(e, "no_entry", "missing entry symbol 'aprhost_plugin_entry'"); }});
    out.push_back({"abi/null_required_slot", "", [](Env& e) { return expect_rejected(e, "null_slot", "required vtable slot 'graph_compute' is NULL"); }});
    out.push_back({"abi/descriptor_smaller", "", [](Env& e) { return expect_rejected(e, "small_desc", "is smaller than the"); }});
    out.push_back({"abi/descriptor_larger", "", large_descriptor});
    out.push_back({"abi/failing_calls", "", failing_calls});
    out.push_back({"abi/throwing_calls", "", throwing_calls});
    out.push_back({"abi/host_keeps_running", "", host_keeps_running});
    out.push_back({"abi/load_use_unload", "", load_use_unload});
    return out;
}

}  // namespace aprhost::conformance
