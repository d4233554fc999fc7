// Plugin discovery and loading. Every shared object named libaprhost-<kind>-<name>[-<variant>].so found in the
// search path is opened with Boost.DLL, its descriptor validated against this host's ABI, its score asked, and
// the outcome recorded (loaded, rejected + why) for `aprhost plugins`.
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::dll {
class shared_library;
}

namespace aprhost::core {

const char* plugin_kind_name(uint32_t kind);  // "backend", "format", "kv", "?"

// A validated, loaded plugin. Every object created from it holds a shared_ptr to it, so the library is unloaded
// only after the last instance is gone (teardown: instances → plugin → library).
class LoadedPlugin {
public:
    std::string path;
    std::string name, variant, version, description;
    aph_plugin_kind kind{};
    uint32_t abi_minor = 0;
    uint32_t score = 0;
    std::string score_reason;

    // The plugin's vtable copied into a host-sized, zero-filled struct (never reads past the plugin's struct_size).
    const aph_backend_vtable& backend() const { return backend_; }
    const aph_format_vtable& format() const { return format_; }
    const aph_kv_vtable& kv() const { return kv_; }
    std::string display_name() const { return variant.empty() ? name : name + "-" + variant; }

private:
    friend class PluginRegistry;
    std::shared_ptr<boost::dll::shared_library> library_;
    aph_backend_vtable backend_{};
    aph_format_vtable format_{};
    aph_kv_vtable kv_{};
};

// One line of the load report.
struct PluginCandidate {
    std::string path;
    std::string status;  // "selected", "available", "rejected"
    std::string reason;  // why rejected / not selected; score reason
    std::string kind, name, variant, version, description;
    uint32_t abi_major = 0, abi_minor = 0, score = 0;
};

struct RegistryOptions {
    std::vector<std::string> plugin_dirs;   // --plugin-dir (searched first, in order)
    std::vector<std::string> plugin_files;  // --plugin FILE.so (always tried, whatever its name)
    bool use_environment = true;            // APRHOST_PLUGIN_PATH (colon-separated directories)
    bool use_default_dirs = true;           // <exe_dir>/../lib/aprhost/plugins, then the install dir
};

class PluginRegistry {
public:
    // Discovers and loads everything; never throws for a bad plugin (it is recorded as rejected).
    explicit PluginRegistry(const RegistryOptions& options);

    // Directories in search order (for messages).
    const std::vector<std::string>& search_dirs() const { return search_dirs_; }
    const std::vector<PluginCandidate>& report() const { return report_; }

    // Loaded plugins of a kind, best score first (for the same name, only the selected variant is returned).
    std::vector<std::shared_ptr<LoadedPlugin>> plugins(aph_plugin_kind kind) const;
    // The selected plugin of that kind and name, or a specific variant by "name-variant" ("cpu-scalar"). Throws core::Error(PLUGIN) listing what is available, or the
    // rejection reason when the plugin was found but refused.
    std::shared_ptr<LoadedPlugin> get(aph_plugin_kind kind, std::string_view name) const;

    // Validates one file; returns the plugin or nullptr with `reason` set. Exposed for tests.
    static std::shared_ptr<LoadedPlugin> load_file(const std::string& path, std::string& reason,
                                                   PluginCandidate& candidate);

private:
    std::vector<std::string> search_dirs_;
    std::vector<PluginCandidate> report_;
    std::vector<std::shared_ptr<LoadedPlugin>> loaded_;  // only selected ones
    std::vector<std::shared_ptr<LoadedPlugin>> all_;     // every accepted plugin, selected or not
};

}  // namespace aprhost::core
