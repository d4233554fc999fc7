// `aprhost convert` and `aprhost run model.apr` through the real executable.
#include "apr_test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <sys/wait.h>

namespace {

struct CliResult {
    int rc;
    std::string out, err;
};

CliResult run_cli(const std::string& args) {
    static int counter = 0;
    const std::string out = aprhost::test::scratch("cli-" + std::to_string(counter) + ".out");
    const std::string err = aprhost::test::scratch("cli-" + std::to_string(counter++) + ".err");
    std::string cmd = std::string("env -u APRHOST_PLUGIN_PATH ") + APRHOST_BINARY_DIR + "/bin/aprhost " + args + " >" +
                      out + " 2>" + err + " </dev/null";
    int st = std::system(cmd.c_str());
    auto slurp = [](const std::string& p) {
        auto b = aprhost::test::read_bytes(p);
        std::filesystem::remove(p);
        return std::string(b.begin(), b.end());
    };
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
}

}  // namespace

TEST_CASE("aprhost convert, inspect and run an APR file", "[apr][cli]") {
    std::string gguf = aprhost::test::synth_model("qwen2", "tiny", "q4_k");
    std::string apr = aprhost::test::scratch("cli.apr"), back = aprhost::test::scratch("cli.gguf");
    auto r = run_cli("convert " + gguf + " " + apr + " --compress zstd");
    INFO(r.err);
    REQUIRE(r.rc == 0);

    auto again = run_cli("convert " + gguf + " " + apr);
    CHECK(again.rc == 1);  // refuses to overwrite without --force
    CHECK(again.err.find("--force") != std::string::npos);
    CHECK(run_cli("convert " + gguf + " " + apr + " --force").rc == 0);

    auto ins = run_cli("inspect " + apr + " --json --tensors");
    REQUIRE(ins.rc == 0);
    auto j = nlohmann::json::parse(ins.out);
    CHECK(j["format"] == "apr");
    CHECK(j["container"].get<std::string>().find("APR v2") != std::string::npos);
    CHECK(j["tensors"].size() == j["tensor_count"].get<size_t>());

    auto ga = run_cli("run " + gguf + " -p hello -n 6 --greedy --json");
    auto ra = run_cli("run " + apr + " -p hello -n 6 --greedy --json");
    REQUIRE(ga.rc == 0);
    REQUIRE(ra.rc == 0);
    auto gj = nlohmann::json::parse(ga.out), rj = nlohmann::json::parse(ra.out);
    CHECK(gj["tokens"] == rj["tokens"]);
    CHECK(gj["text"] == rj["text"]);

    REQUIRE(run_cli("convert " + apr + " " + back).rc == 0);
    CHECK(run_cli("run " + back + " -p hello -n 2 --greedy").rc == 0);
    auto bad = run_cli("convert " + gguf + " " + aprhost::test::scratch("x.bin"));
    CHECK(bad.rc == 1);
    std::filesystem::remove(apr);
    std::filesystem::remove(back);
}
