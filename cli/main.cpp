// aprhost: a plugin host for quantized LLM inference. Exit codes: 0 ok, 1 usage, 2 bad input file,
// 3 plugin/backend problem, 4 resource exhausted. Every error is one line "aprhost: error: ...".
#include "app_context.hpp"
#include "commands.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/host_services.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <csignal>
#include <map>
#include <new>

namespace {

int report(int code, const std::string& msg) {
    fmt::print(stderr, "aprhost: error: {}\n", msg);
    return code;
}

void on_sigint(int) { aprhost::core::request_abort(); }

}  // namespace

int main(int argc, char** argv) {
    using namespace aprhost;
    CLI::App app{"aprhost " APRHOST_VERSION " — run quantized LLMs through backend, format and KV-cache plugins",
                 "aprhost"};
    app.set_version_flag("--version", "aprhost " APRHOST_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    cli::GlobalOptions g;
    cli::add_global_options(app, g);
    std::map<CLI::App*, cli::Runner> runners;
    auto add = [&](cli::Runner r) { runners[app.get_subcommands({}).back()] = std::move(r); };
    add(cli::add_plugins_command(app, g));
    add(cli::add_inspect_command(app, g));
    add(cli::add_run_command(app, g));
    add(cli::add_logits_command(app, g));
    add(cli::add_synth_command(app, g));
    add(cli::add_membw_command(app, g));
    add(cli::add_convert_command(app, g));
    add(cli::add_conformance_command(app, g));
    add(cli::add_bench_command(app, g)), add(cli::add_eval_command(app, g));  // measurement tools (bench, eval)
    add(cli::add_profile_command(app, g)), add(cli::add_compare_command(app, g));  // profile, compare
    add(cli::add_qa_command(app, g));  // every gate as one report (cli/cmd_qa.cpp)
    add(cli::add_cbtop_command(app, g));  // live monitor (F-PERF-007)

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return report(1, e.what() + std::string(" (see aprhost --help)"));
    }
    std::signal(SIGINT, on_sigint);
    try {
        for (auto* sub : app.get_subcommands())
            if (runners.count(sub)) return runners[sub]();
        return report(1, "no command given (see aprhost --help)");
    } catch (const core::Error& e) {
        return report(static_cast<int>(e.kind()), e.what());
    } catch (const std::bad_alloc&) {
        return report(4, "out of memory");
    } catch (const std::exception& e) {
        return report(3, std::string("internal error: ") + e.what());
    }
}
