#include "app_context.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/host_services.hpp>

namespace aprhost::cli {

void add_global_options(CLI::App& app, GlobalOptions& g) {
    app.add_option("--backend", g.backend, "Compute backend plugin (cpu, vulkan, cuda, ...)")->capture_default_str();
    app.add_option("--kv", g.kv, "KV-cache manager plugin (contiguous, ...)")->capture_default_str();
    app.add_option("--plugin-dir", g.plugin_dirs, "Extra directory to search for plugins first (repeatable)");
    app.add_option("--plugin", g.plugin_files, "Load this plugin file too (repeatable)");
    app.add_option("--backend-opt", g.backend_opts, "Backend plugin option key=value (repeatable)");
    app.add_option("--kv-opt", g.kv_opts, "KV plugin option key=value (repeatable)");
    app.add_option("--format-opt", g.format_opts, "Format plugin option key=value (repeatable)");
    app.add_flag("--no-verify", g.no_verify, "Skip file checksums (APR CRCs); structure is always validated");
    app.add_option("--kv-block-size", g.kv_block_size, "Tokens per KV block (paged)")->check(CLI::Range(1, 1 << 20));
    app.add_option("--kv-sinks", g.kv_sinks, "Attention-sink tokens kept forever (streaming)")->check(CLI::Range(0, 1 << 20));
    app.add_option("--kv-window", g.kv_window, "Sliding window of recent tokens (streaming)")->check(CLI::Range(1, 1 << 24));
    app.add_option("-t,--threads", g.threads, "Threads for the CPU backend (default: physical cores)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--vk-device", g.vk_device, "Vulkan device index (see `aprhost plugins`); backend option device=N")
        ->check(CLI::Range(0, 1 << 16));
    app.add_flag("-v,--verbose", g.verbose, "Print plugin log messages down to info level");
}

std::vector<std::string> split_csv(const std::string& s) {
    std::vector<std::string> out;
    for (size_t b = 0; b <= s.size();) {
        size_t e = s.find(',', b);
        if (e == std::string::npos) e = s.size();
        if (e > b) out.push_back(s.substr(b, e - b));
        b = e + 1;
    }
    return out;
}

std::map<std::string, std::string> parse_key_values(const std::vector<std::string>& items, const char* flag) {
    std::map<std::string, std::string> out;
    for (auto& it : items) {
        auto eq = it.find('=');
        if (eq == std::string::npos || eq == 0)
            throw core::Error(core::ErrorKind::USAGE, std::string(flag) + " expects key=value, got '" + it + "'");
        out[it.substr(0, eq)] = it.substr(eq + 1);
    }
    return out;
}

AppContext::AppContext(const GlobalOptions& g) : g_(g) {
    if (g_.verbose) core::set_log_level(APH_LOG_INFO);
    core::RegistryOptions ro;
    ro.plugin_dirs = g_.plugin_dirs;
    ro.plugin_files = g_.plugin_files;
    registry_ = std::make_unique<core::PluginRegistry>(ro);
}

std::map<std::string, std::string> AppContext::backend_options() const {
    auto opts = parse_key_values(g_.backend_opts, "--backend-opt");
    if (g_.threads > 0) opts["threads"] = std::to_string(g_.threads);
    if (g_.vk_device >= 0) opts["device"] = std::to_string(g_.vk_device);
    return opts;
}

std::shared_ptr<core::BackendContext> AppContext::create_backend() const {
    return core::BackendContext::create(registry_->get(APH_PLUGIN_BACKEND, g_.backend), backend_options());
}

std::shared_ptr<core::LoadedPlugin> AppContext::kv_plugin() const { return registry_->get(APH_PLUGIN_KV_CACHE, g_.kv); }

std::map<std::string, std::string> AppContext::format_options() const {
    auto opts = parse_key_values(g_.format_opts, "--format-opt");
    if (g_.no_verify) opts["verify"] = "0";
    return opts;
}

std::map<std::string, std::string> AppContext::kv_options() const {
    auto opts = parse_key_values(g_.kv_opts, "--kv-opt");
    // The dedicated flags are shorthands for the plugins' options; a plugin that does not know one rejects it.
    if (g_.kv_block_size > 0) opts["block_size"] = std::to_string(g_.kv_block_size);
    if (g_.kv_sinks >= 0) opts["sinks"] = std::to_string(g_.kv_sinks);
    if (g_.kv_window > 0) opts["window"] = std::to_string(g_.kv_window);
    return opts;
}

}  // namespace aprhost::cli
