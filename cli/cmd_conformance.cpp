// `aprhost conformance`: the plugin conformance suite (tests/conformance, docs/conformance.md) against the
// selected backend (--backend NAME, or the plugin in --plugin FILE.so) and KV plugins (--kv NAME, default all).
// Exit 0 only when every case that ran passed; 1 when a case failed; 3 when the plugin under test is refused.
#include "commands.hpp"

#include <aprhost/core/error.hpp>

#include <conformance.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <unistd.h>

namespace aprhost::cli {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> find_smollm2(const std::string& given) {
    if (!given.empty()) {
        if (!fs::exists(given)) throw core::Error(core::ErrorKind::USAGE, "--smollm2 " + given + ": no such file");
        return given;
    }
    if (const char* env = std::getenv("APRHOST_SMOLLM2"); env && fs::exists(env)) return std::string(env);
    std::vector<fs::path> candidates = {"models/SmolLM2-135M-Instruct.Q4_1.gguf"};
    std::error_code ec;
    // <build>/bin/aprhost → <repo>/models in a build tree.
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path().parent_path().parent_path() / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf");
    for (auto& c : candidates)
        if (fs::exists(c, ec)) return c.string();
    return std::nullopt;
}

}  // namespace

Runner add_conformance_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("conformance",
                                   "Run the plugin conformance suite (op, model and ABI level) against a backend / KV plugin");
    struct Opts {
        std::string filter, model_dir, smollm2, fixtures;
        uint32_t positions = 128;
        bool json = false, list = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--filter", o->filter, "Run only cases whose id matches this regular expression");
    cmd->add_flag("--json", o->json, "Print one JSON record instead of the table");
    cmd->add_flag("--list", o->list, "List the case ids and exit");
    cmd->add_option("--model-dir", o->model_dir, "Where synthetic models are written (default: a temp folder)");
    cmd->add_option("--smollm2", o->smollm2, "SmolLM2-135M-Instruct.Q4_1.gguf (default: $APRHOST_SMOLLM2, models/)");
    cmd->add_option("--smollm2-positions", o->positions, "KV-invariant positions on SmolLM2")
        ->capture_default_str()->check(CLI::Range(1, 2048));
    cmd->add_option("--fixtures", o->fixtures, "Folder of the broken fixture plugins (default: the build tree's)");
    return [&app, &g, o]() {
        AppContext ctx(g);
        conformance::Env env;
        env.registry = &ctx.registry();
        env.backend = g.backend;
        env.backend_options = ctx.backend_options();
        env.kv_options = ctx.kv_options();
        if (app.get_option("--kv")->count() > 0) env.kv = {g.kv};
        // --plugin FILE.so: the plugin in that file is the one under test (a backend or a KV manager).
        for (auto& file : g.plugin_files) {
            std::error_code ec;
            const auto want = fs::weakly_canonical(file, ec);
            const core::PluginCandidate* found = nullptr;
            for (auto& c : ctx.registry().report())
                if (fs::weakly_canonical(c.path, ec) == want) found = &c;
            if (!found) throw core::Error(core::ErrorKind::PLUGIN, "--plugin " + file + ": not found");
            if (found->status == "rejected")
                throw core::Error(core::ErrorKind::PLUGIN, "--plugin " + file + " was rejected: " + found->reason);
            const std::string display = found->variant.empty() ? found->name : found->name + "-" + found->variant;
            if (found->kind == "backend" && app.get_option("--backend")->count() == 0) env.backend = display;
            else if (found->kind == "kv" && app.get_option("--kv")->count() == 0) env.kv = {found->name};
        }
        env.model_dir = o->model_dir.empty()
                            ? (fs::temp_directory_path() / ("aprhost-conformance-" + std::to_string(::getuid()))).string()
                            : o->model_dir;
        env.smollm2 = find_smollm2(o->smollm2);
        env.smollm2_positions = o->positions;
        env.fixture_dir = o->fixtures.empty() ? conformance::default_fixture_dir() : o->fixtures;
        // Fail early (exit 3) when the backend under test cannot be found or created.
        env.backend_context();
        for (auto& kv : env.kv) ctx.registry().get(APH_PLUGIN_KV_CACHE, kv);

        const auto cases = conformance::all_cases(env);
        if (o->list) {
            for (auto& c : cases) fmt::print("{}\n", c.id());
            return 0;
        }
        if (!o->json) {
            std::string kvs;
            for (auto& k : env.kv_plugins()) kvs += (kvs.empty() ? "" : ", ") + k;
            fmt::print("conformance: backend {} ({}), kv {}\n", env.backend_context()->plugin().display_name(),
                       env.backend_context()->plugin().path, kvs);
        }
        auto summary = conformance::run_cases(cases, env, o->filter, [&](const conformance::Outcome& out) {
            if (!o->json) {
                fmt::print("{}\n", conformance::format_line(out));
                std::fflush(stdout);
            }
        });
        if (o->json) fmt::print("{}\n", conformance::format_json(summary, env));
        else fmt::print("{}\n", conformance::format_totals(summary));
        if (summary.outcomes.empty())
            throw core::Error(core::ErrorKind::USAGE, "--filter '" + o->filter + "' matches no case (see --list)");
        return summary.ok() ? 0 : 1;
    };
}

}  // namespace aprhost::cli
