// The environment record the measurement tools (bench, eval, ...) print next to their numbers: machine, process,
// plugins and their versions, the model file and its sha256, and the git commit this binary was built from.
#pragma once

#include "app_context.hpp"

#include <aprhost/core/model.hpp>
#include <aprhost/core/session.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace aprhost::cli {

// The commit of the source tree at build time ("<40 hex>", with "-dirty" when the tree had uncommitted changes),
// or "unknown" when the build was not made from a git checkout. Generated at every build (cli/git_commit.cmake).
std::string build_git_commit();

// {"cpu_model", "logical_cpus", "threads", "backend", "backend_version", "device", "device_detail", "format_plugin",
//  "format_version", "kv", "kv_version", "model", "model_sha256", "model_bytes", "aprhost_version", "git_commit"}
// Hashing reads the whole model file once.
nlohmann::json environment_record(const GlobalOptions& g, const core::Model& model, const core::Session& session,
                                  const std::string& model_path);

// Process and device memory: {"peak_rss_bytes", "device_bytes_allocated", "device_weight_bytes",
// "device_memory_total"}.
nlohmann::json memory_record(const core::Model& model);

}  // namespace aprhost::cli
