// Plugin discovery, validation and selection. Why so defensive: a plugin is foreign code of unknown vintage;
// every field of its descriptor is checked against this host's ABI before any of it is trusted.
#include <aprhost/core/error.hpp>
#include <aprhost/core/plugin_registry.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

namespace fs = std::filesystem;

namespace aprhost::core {

const char* plugin_kind_name(uint32_t kind) {
    switch (kind) {
        case APH_PLUGIN_BACKEND: return "backend";
        case APH_PLUGIN_FORMAT: return "format";
        case APH_PLUGIN_KV_CACHE: return "kv";
        default: return "?";
    }
}

namespace {

// Boost.DLL's exceptions end with a misleading errno text; the useful part is dlerror's message.
std::string dlopen_reason(const std::exception& e) {
    std::string what = e.what();
    const std::string marker = "(dlerror system message: ";
    auto pos = what.find(marker);
    if (pos == std::string::npos) return what;
    auto start = pos + marker.size();
    auto end = what.rfind(')');
    if (end == std::string::npos || end < start) end = what.size();
    return what.substr(start, end - start);
}

// Copies a plugin's vtable (whose first member is its struct_size) into the host's struct, reading at most
// min(plugin size, host size) bytes. Returns false when the plugin's struct is too small to hold struct_size.
template <class VT>
bool copy_vtable(const void* src, VT& dst, std::string& reason) {
    dst = VT{};
    if (!src) {
        reason = "descriptor has a NULL vtable";
        return false;
    }
    uint32_t size = 0;
    std::memcpy(&size, src, sizeof(size));
    if (size < sizeof(uint32_t)) {
        reason = "vtable struct_size " + std::to_string(size) + " is too small";
        return false;
    }
    std::memcpy(&dst, src, std::min<size_t>(size, sizeof(VT)));
    return true;
}

// Names a NULL required slot, or "" when all are there.
std::string missing_backend_slot(const aph_backend_vtable& v) {
    if (!v.create) return "create";
    if (!v.destroy) return "destroy";
    if (!v.device_info) return "device_info";
    if (!v.buffer_alloc) return "buffer_alloc";
    if (!v.buffer_free) return "buffer_free";
    if (!v.buffer_upload) return "buffer_upload";
    if (!v.buffer_download) return "buffer_download";
    if (!v.supports) return "supports";
    if (!v.graph_compute) return "graph_compute";
    if (!v.synchronize) return "synchronize";
    return "";
}
std::string missing_format_slot(const aph_format_vtable& v) {
    if (!v.probe) return "probe";
    if (!v.open) return "open";
    if (!v.close) return "close";
    if (!v.metadata_count) return "metadata_count";
    if (!v.metadata_get) return "metadata_get";
    if (!v.tensor_count) return "tensor_count";
    if (!v.tensor_get) return "tensor_get";
    return "";
}
std::string missing_kv_slot(const aph_kv_vtable& v) {
    if (!v.create) return "create";
    if (!v.destroy) return "destroy";
    if (!v.slot_count) return "slot_count";
    if (!v.seq_append) return "seq_append";
    if (!v.seq_block_table) return "seq_block_table";
    if (!v.seq_free) return "seq_free";
    return "";
}

std::string safe_cstr(const char* s, size_t max = 256) {
    if (!s) return "";
    size_t n = strnlen(s, max);
    return std::string(s, n);
}

bool is_plugin_file_name(const std::string& name) {
    return name.rfind("libaprhost-", 0) == 0 && name.size() > 3 && name.substr(name.size() - 3) == ".so";
}

}  // namespace

std::shared_ptr<LoadedPlugin> PluginRegistry::load_file(const std::string& path, std::string& reason,
                                                        PluginCandidate& cand) {
    cand.path = path;
    auto lib = std::make_shared<boost::dll::shared_library>();
    try {
        lib->load(fs::path(path), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        reason = "cannot load: " + dlopen_reason(e);
        return nullptr;
    }
    if (!lib->has(APH_ENTRY_SYMBOL)) {
        reason = std::string("missing entry symbol '") + APH_ENTRY_SYMBOL + "' (not an aprhost plugin?)";
        return nullptr;
    }
    const aph_plugin_desc* desc = nullptr;
    try {
        auto& entry = lib->get<const aph_plugin_desc*()>(APH_ENTRY_SYMBOL);
        desc = entry();
    } catch (const std::exception& e) {
        reason = std::string("entry symbol '") + APH_ENTRY_SYMBOL + "' failed: " + e.what();
        return nullptr;
    }
    if (!desc) {
        reason = std::string("'") + APH_ENTRY_SYMBOL + "' returned NULL";
        return nullptr;
    }
    // abi_major, abi_minor and struct_size are the first three members in every ABI version.
    cand.abi_major = desc->abi_major;
    cand.abi_minor = desc->abi_minor;
    if (desc->abi_major != APH_ABI_MAJOR) {
        reason = "ABI major version " + std::to_string(desc->abi_major) + " (plugin, minor " +
                 std::to_string(desc->abi_minor) + ") does not match the host's " + std::to_string(APH_ABI_MAJOR) +
                 "." + std::to_string(APH_ABI_MINOR);
        return nullptr;
    }
    constexpr size_t needed = offsetof(aph_plugin_desc, vtable) + sizeof(void*);
    if (desc->struct_size < needed) {
        reason = "descriptor struct_size " + std::to_string(desc->struct_size) + " is smaller than the " +
                 std::to_string(needed) + " bytes ABI " + std::to_string(APH_ABI_MAJOR) + " requires";
        return nullptr;
    }
    // A larger descriptor (newer minor) is fine: the host reads only the members it knows.
    auto p = std::make_shared<LoadedPlugin>();
    p->path = path;
    p->name = safe_cstr(desc->name);
    p->variant = safe_cstr(desc->variant);
    p->version = safe_cstr(desc->version);
    p->description = safe_cstr(desc->description);
    p->abi_minor = desc->abi_minor;
    cand.name = p->name;
    cand.variant = p->variant;
    cand.version = p->version;
    cand.description = p->description;
    cand.kind = plugin_kind_name(desc->kind);
    if (p->name.empty()) {
        reason = "descriptor has an empty name";
        return nullptr;
    }
    std::string missing;
    switch (desc->kind) {
        case APH_PLUGIN_BACKEND:
            if (!copy_vtable(desc->vtable, p->backend_, reason)) return nullptr;
            missing = missing_backend_slot(p->backend_);
            break;
        case APH_PLUGIN_FORMAT:
            if (!copy_vtable(desc->vtable, p->format_, reason)) return nullptr;
            missing = missing_format_slot(p->format_);
            break;
        case APH_PLUGIN_KV_CACHE:
            if (!copy_vtable(desc->vtable, p->kv_, reason)) return nullptr;
            missing = missing_kv_slot(p->kv_);
            break;
        default:
            reason = "unknown plugin kind " + std::to_string(desc->kind);
            return nullptr;
    }
    if (!missing.empty()) {
        reason = "required vtable slot '" + missing + "' is NULL";
        return nullptr;
    }
    p->kind = static_cast<aph_plugin_kind>(desc->kind);
    p->score = 1;
    if (lib->has(APH_SCORE_SYMBOL)) {
        aph_error err{};
        auto& score_fn = lib->get<uint32_t(aph_error*)>(APH_SCORE_SYMBOL);
        p->score = score_fn(&err);
        p->score_reason = safe_cstr(err.message, sizeof(err.message));
    }
    cand.score = p->score;
    if (p->score == 0) {
        reason = p->score_reason.empty() ? "score 0: cannot run on this machine" : p->score_reason;
        return nullptr;
    }
    p->library_ = std::move(lib);
    return p;
}

PluginRegistry::PluginRegistry(const RegistryOptions& options) {
    for (auto& d : options.plugin_dirs) search_dirs_.push_back(d);
    if (options.use_environment) {
        if (const char* env = std::getenv("APRHOST_PLUGIN_PATH")) {
            std::string s = env;
            size_t start = 0;
            while (start <= s.size()) {
                size_t end = s.find(':', start);
                if (end == std::string::npos) end = s.size();
                if (end > start) search_dirs_.push_back(s.substr(start, end - start));
                start = end + 1;
            }
        }
    }
    if (options.use_default_dirs) {
        std::error_code ec;
        auto exe = boost::dll::program_location(ec);
        if (!ec) search_dirs_.push_back((exe.parent_path().parent_path() / APRHOST_PLUGIN_RELATIVE_DIR).string());
        search_dirs_.push_back(APRHOST_PLUGIN_INSTALL_DIR);
    }

    // Collect files: explicit ones first, then each directory sorted by name; a file name seen earlier shadows
    // later ones (so --plugin-dir overrides the installed copy).
    std::vector<std::string> files;
    std::set<std::string> seen_names;
    std::set<std::string> seen_paths;
    for (auto& f : options.plugin_files) {
        std::error_code ec;
        auto canon = fs::weakly_canonical(f, ec).string();
        if (seen_paths.insert(canon).second) files.push_back(f);
        seen_names.insert(fs::path(f).filename().string());
    }
    for (auto& dir : search_dirs_) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<std::string> here;
        for (auto& entry : fs::directory_iterator(dir, ec)) {
            auto name = entry.path().filename().string();
            if (is_plugin_file_name(name)) here.push_back(entry.path().string());
        }
        std::sort(here.begin(), here.end());
        for (auto& f : here) {
            auto canon = fs::weakly_canonical(f, ec).string();
            if (!seen_paths.insert(canon).second) continue;
            if (!seen_names.insert(fs::path(f).filename().string()).second) continue;
            files.push_back(f);
        }
    }

    // Load everything, then select per (kind, name) the highest score.
    std::vector<std::pair<size_t, std::shared_ptr<LoadedPlugin>>> ok;
    for (auto& f : files) {
        PluginCandidate cand;
        std::string reason;
        auto p = load_file(f, reason, cand);
        if (p) {
            cand.status = "available";
            cand.reason = p->score_reason;
            ok.emplace_back(report_.size(), p);
        } else {
            cand.status = "rejected";
            cand.reason = reason;
        }
        report_.push_back(cand);
    }
    std::map<std::pair<int, std::string>, std::pair<size_t, std::shared_ptr<LoadedPlugin>>> best;
    for (auto& [idx, p] : ok) {
        auto key = std::make_pair(static_cast<int>(p->kind), p->name);
        auto it = best.find(key);
        if (it == best.end() || p->score > it->second.second->score) best[key] = {idx, p};
    }
    for (auto& [idx, p] : ok) {
        auto& chosen = best[{static_cast<int>(p->kind), p->name}];
        all_.push_back(p);
        if (chosen.first == idx) {
            report_[idx].status = "selected";
            loaded_.push_back(p);
        } else {
            report_[idx].reason = "score " + std::to_string(p->score) + " < " +
                                  std::to_string(chosen.second->score) + " of variant '" +
                                  chosen.second->variant + "'" +
                                  (p->score_reason.empty() ? "" : " (" + p->score_reason + ")");
        }
    }
    std::stable_sort(loaded_.begin(), loaded_.end(),
                     [](const auto& a, const auto& b) { return a->score > b->score; });
}

std::vector<std::shared_ptr<LoadedPlugin>> PluginRegistry::plugins(aph_plugin_kind kind) const {
    std::vector<std::shared_ptr<LoadedPlugin>> out;
    for (auto& p : loaded_)
        if (p->kind == kind) out.push_back(p);
    return out;
}

std::shared_ptr<LoadedPlugin> PluginRegistry::get(aph_plugin_kind kind, std::string_view name) const {
    for (auto& p : loaded_)
        if (p->kind == kind && p->name == name) return p;
    // "name-variant" picks a specific variant even when another one scored higher (e.g. cpu-scalar).
    for (auto& p : all_)
        if (p->kind == kind && p->display_name() == name) return p;
    // Not loaded: explain whether it was rejected or never found.
    for (auto& c : report_) {
        std::string full = c.variant.empty() ? c.name : c.name + "-" + c.variant;
        if ((c.name == name || full == name) && c.kind == plugin_kind_name(kind) && c.status == "rejected")
            throw Error(ErrorKind::PLUGIN, std::string(plugin_kind_name(kind)) + " plugin '" + std::string(name) +
                                               "' was rejected: " + c.reason + " (" + c.path + ")");
    }
    std::string avail;
    for (auto& p : loaded_)
        if (p->kind == kind) avail += (avail.empty() ? "" : ", ") + p->name;
    std::string dirs;
    for (auto& d : search_dirs_) dirs += (dirs.empty() ? "" : ":") + d;
    throw Error(ErrorKind::PLUGIN, std::string("no ") + plugin_kind_name(kind) + " plugin named '" +
                                       std::string(name) + "' (available: " + (avail.empty() ? "none" : avail) +
                                       "; searched " + dirs + ")");
}

}  // namespace aprhost::core
