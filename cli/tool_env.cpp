#include "tool_env.hpp"

#include "aprhost_git_commit.h"  // generated in the build tree by cli/git_commit.cmake

#include <aprhost/core/host_info.hpp>
#include <aprhost/core/sha256.hpp>

#include <filesystem>

namespace aprhost::cli {

std::string build_git_commit() { return APRHOST_GIT_COMMIT; }

nlohmann::json environment_record(const GlobalOptions& g, const core::Model& model, const core::Session& session,
                                  const std::string& model_path) {
    const auto& backend = model.backend();
    std::error_code ec;
    auto size = std::filesystem::file_size(model_path, ec);
    return {{"cpu_model", core::cpu_model_name()},
            {"logical_cpus", core::logical_cpu_count()},
            {"threads", g.threads},  // 0: the backend's default (the device name says what it chose)
            {"backend", backend.plugin().display_name()},
            {"backend_version", backend.plugin().version},
            {"device", backend.device().name},
            {"device_detail", backend.device().detail},
            {"format_plugin", model.file().format_plugin().display_name()},
            {"format_version", model.file().format_plugin().version},
            {"kv", session.kv().plugin().display_name()},
            {"kv_version", session.kv().plugin().version},
            {"model", model_path},
            {"model_bytes", ec ? 0 : uint64_t(size)},
            {"model_sha256", core::sha256_file(model_path)},
            {"aprhost_version", APRHOST_VERSION},
            {"git_commit", build_git_commit()}};
}

nlohmann::json memory_record(const core::Model& model) {
    auto st = model.backend().stats();
    return {{"peak_rss_bytes", core::peak_rss_bytes()},
            {"device_bytes_allocated", st.bytes_allocated},
            {"device_weight_bytes", model.device_weight_bytes()},
            {"device_memory_total", model.backend().device().memory_total}};
}

}  // namespace aprhost::cli
