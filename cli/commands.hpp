// The subcommands. Each registers itself on the app and returns the function that runs it (after parsing).
#pragma once

#include "app_context.hpp"

#include <CLI/CLI.hpp>

#include <functional>

namespace aprhost::cli {

using Runner = std::function<int()>;

Runner add_plugins_command(CLI::App& app, const GlobalOptions& g);
Runner add_inspect_command(CLI::App& app, const GlobalOptions& g);
Runner add_run_command(CLI::App& app, const GlobalOptions& g);
Runner add_logits_command(CLI::App& app, const GlobalOptions& g);
Runner add_synth_command(CLI::App& app, const GlobalOptions& g);
Runner add_membw_command(CLI::App& app, const GlobalOptions& g);
Runner add_convert_command(CLI::App& app, const GlobalOptions& g);
Runner add_conformance_command(CLI::App& app, const GlobalOptions& g);
Runner add_bench_command(CLI::App& app, const GlobalOptions& g); Runner add_eval_command(CLI::App& app, const GlobalOptions& g);
Runner add_profile_command(CLI::App& app, const GlobalOptions& g); Runner add_compare_command(CLI::App& app, const GlobalOptions& g);
Runner add_qa_command(CLI::App& app, const GlobalOptions& g);  // cli/cmd_qa.cpp
Runner add_cbtop_command(CLI::App& app, const GlobalOptions& g);  // cli/cmd_cbtop.cpp

}  // namespace aprhost::cli
