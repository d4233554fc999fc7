// `aprhost plugins`: every plugin found, loaded or rejected, and why.
#include "commands.hpp"

#include <aprhost/core/backend.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace aprhost::cli {

Runner add_plugins_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("plugins", "List every plugin found: selected, available or rejected, and why");
    auto json = std::make_shared<bool>(false);
    auto devices = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print one JSON document");
    cmd->add_flag("--devices", *devices, "Also create each selected backend and print its device");
    return [&g, json, devices]() {
        AppContext ctx(g);
        const auto& reg = ctx.registry();
        nlohmann::json out;
        out["search_dirs"] = reg.search_dirs();
        out["plugins"] = nlohmann::json::array();
        for (auto& c : reg.report()) {
            nlohmann::json j = {{"path", c.path},         {"status", c.status},   {"reason", c.reason},
                                {"kind", c.kind},         {"name", c.name},       {"variant", c.variant},
                                {"version", c.version},   {"score", c.score},     {"abi_major", c.abi_major},
                                {"abi_minor", c.abi_minor}, {"description", c.description}};
            if (*devices && c.status == "selected" && c.kind == "backend") {
                try {
                    auto be = core::BackendContext::create(reg.get(APH_PLUGIN_BACKEND, c.name), {});
                    j["device"] = {{"name", be->device().name},
                                   {"detail", be->device().detail},
                                   {"memory_total", be->device().memory_total}};
                } catch (const std::exception& e) {
                    j["device_error"] = e.what();
                }
            }
            out["plugins"].push_back(j);
        }
        if (*json) {
            fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
            return 0;
        }
        fmt::print("Plugin search path (in order):\n");
        for (auto& d : reg.search_dirs()) fmt::print("  {}\n", d);
        fmt::print("\n{:<8} {:<22} {:<9} {:>5}  {}\n", "KIND", "NAME", "STATUS", "SCORE", "DETAILS");
        for (auto& j : out["plugins"]) {
            std::string name = j["name"].get<std::string>();
            if (!j["variant"].get<std::string>().empty()) name += "-" + j["variant"].get<std::string>();
            if (name.empty()) name = "?";
            std::string details = j["status"] == "rejected" ? j["reason"].get<std::string>()
                                                            : j["description"].get<std::string>();
            if (j["status"] != "rejected" && !j["reason"].get<std::string>().empty())
                details += " [" + j["reason"].get<std::string>() + "]";
            fmt::print("{:<8} {:<22} {:<9} {:>5}  {}\n", j["kind"].get<std::string>().empty() ? "?" : j["kind"].get<std::string>(), name,
                       j["status"].get<std::string>(), j["score"].get<uint32_t>(), details);
            fmt::print("{:<8} {:<22} {:<9} {:>5}  {}\n", "", "", "", "", j["path"].get<std::string>());
            if (j.contains("device"))
                fmt::print("{:<8} {:<22} {:<9} {:>5}  device: {} ({})\n", "", "", "", "",
                           j["device"]["name"].get<std::string>(), j["device"]["detail"].get<std::string>());
            if (j.contains("device_error"))
                fmt::print("{:<8} {:<22} {:<9} {:>5}  device error: {}\n", "", "", "", "",
                           j["device_error"].get<std::string>());
        }
        return 0;
    };
}

}  // namespace aprhost::cli
