// The conformance suite under CTest: every case on both CPU variants ("cpu" = the best-scoring one, AVX2 here,
// and "cpu-scalar") with every KV plugin of the build tree; each case must PASS or SKIP (SKIP reasons are
// printed). The same cases ship as `aprhost conformance`.
#include "conformance.hpp"
#include "test_models.hpp"
#include "test_plugins.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

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
