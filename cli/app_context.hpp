// Options shared by every subcommand (plugin search, backend and KV selection) and the objects built from them.
#pragma once

#include <aprhost/core/backend.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace aprhost::cli {

struct GlobalOptions {
    std::string backend = "cpu";
    std::string kv = "contiguous";
    std::vector<std::string> plugin_dirs;
    std::vector<std::string> plugin_files;
    std::vector<std::string> backend_opts;  // key=value, passed to the backend plugin
    std::vector<std::string> kv_opts;       // key=value, passed to the KV plugin
    std::vector<std::string> format_opts;   // key=value, passed to the format plugin that opens the model
    bool no_verify = false;                 // format option verify=0 (skip checksums, e.g. APR CRCs)
    int kv_block_size = 0;                  // > 0: KV option block_size (paged)
    int kv_sinks = -1;                      // >= 0: KV option sinks (streaming)
    int kv_window = 0;                      // > 0: KV option window (streaming)
    int threads = 0;                        // 0 = backend default; becomes backend option "threads"
    int vk_device = -1;                     // >= 0: Vulkan backend option device=N (--vk-device)
    bool verbose = false;
};

// Adds the global flags to the app (they are accepted before or after the subcommand).
void add_global_options(CLI::App& app, GlobalOptions& g);

class AppContext {
public:
    explicit AppContext(const GlobalOptions& g);
    const GlobalOptions& options() const { return g_; }
    const core::PluginRegistry& registry() const { return *registry_; }
    // Creates a context of the selected backend (--backend) with --threads/--backend-opt.
    std::shared_ptr<core::BackendContext> create_backend() const;
    // The options create_backend() passes: --backend-opt, plus "threads" from --threads.
    std::map<std::string, std::string> backend_options() const;
    std::shared_ptr<core::LoadedPlugin> kv_plugin() const;
    std::map<std::string, std::string> kv_options() const;
    std::map<std::string, std::string> format_options() const;

private:
    GlobalOptions g_;
    std::unique_ptr<core::PluginRegistry> registry_;
};

// "a,b,,c" → {"a", "b", "c"} (empty items dropped): the comma lists of --backends, --gates, ...
std::vector<std::string> split_csv(const std::string& s);

// "k=v" list → map; throws core::Error(USAGE) on a malformed item.
std::map<std::string, std::string> parse_key_values(const std::vector<std::string>& items, const char* flag);

}  // namespace aprhost::cli
