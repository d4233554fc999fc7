#include <aprhost/core/error.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include "test_plugins.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace aprhost::core;

namespace {
RegistryOptions only_build_plugins() { return aprhost::test::build_tree_plugins(); }
const PluginCandidate* find(const PluginRegistry& r, const std::string& file_part) {
    for (auto& c : r.report())
        if (c.path.find(file_part) != std::string::npos) return &c;
    return nullptr;
}
}  // namespace

TEST_CASE("registry loads the built plugins and selects one per name", "[registry]") {
    PluginRegistry reg(only_build_plugins());
    CHECK(reg.get(APH_PLUGIN_FORMAT, "gguf")->kind == APH_PLUGIN_FORMAT);
    CHECK(reg.get(APH_PLUGIN_KV_CACHE, "contiguous")->name == "contiguous");
    auto cpu = reg.get(APH_PLUGIN_BACKEND, "cpu");
    // Both variants are found; exactly one is selected, the other is listed with the reason.
    auto* avx2 = find(reg, "libaprhost-backend-cpu-avx2.so");
    auto* scalar = find(reg, "libaprhost-backend-cpu-scalar.so");
    REQUIRE(avx2);
    REQUIRE(scalar);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        CHECK(cpu->variant == "avx2");
        CHECK(avx2->status == "selected");
        CHECK(scalar->status == "available");
        CHECK(scalar->reason.find("score") != std::string::npos);
    } else {
        CHECK(cpu->variant == "scalar");
        CHECK(avx2->status == "rejected");
    }
}

TEST_CASE("registry reports a missing plugin with what is available", "[registry]") {
    PluginRegistry reg(only_build_plugins());
    try {
        reg.get(APH_PLUGIN_BACKEND, "no-such-backend");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::PLUGIN);
        CHECK(std::string(e.what()).find("available: cpu") != std::string::npos);
    }
}

TEST_CASE("registry rejects a file that is not a shared object, and keeps going", "[registry]") {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(APRHOST_TEST_DATA_DIR) / "bad-plugins";
    fs::create_directories(dir);
    { std::ofstream(dir / "libaprhost-backend-junk.so") << "this is not an ELF file"; }
    RegistryOptions o = only_build_plugins();
    o.plugin_dirs.insert(o.plugin_dirs.begin(), dir.string());
    PluginRegistry reg(o);
    auto* junk = find(reg, "libaprhost-backend-junk.so");
    REQUIRE(junk);
    CHECK(junk->status == "rejected");
    CHECK(junk->reason.rfind("cannot load:", 0) == 0);
    CHECK(reg.get(APH_PLUGIN_FORMAT, "gguf"));  // the good ones still load
}

TEST_CASE("registry rejects a shared object without the entry symbol", "[registry]") {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(APRHOST_TEST_DATA_DIR) / "bad-plugins-nosym";
    fs::create_directories(dir);
    // libaprhost-core is a valid shared object that is not a plugin.
    fs::copy_file(fs::path(APRHOST_BINARY_DIR) / "lib" / "libaprhost-core.so", dir / "libaprhost-kv-notaplugin.so",
                  fs::copy_options::overwrite_existing);
    RegistryOptions o;
    o.plugin_dirs = {dir.string()};
    o.use_environment = false;
    o.use_default_dirs = false;
    PluginRegistry reg(o);
    REQUIRE(reg.report().size() == 1);
    CHECK(reg.report()[0].status == "rejected");
    CHECK(reg.report()[0].reason.find("missing entry symbol 'aprhost_plugin_entry'") != std::string::npos);
}
