#include <aprhost/core/host_services.hpp>

#include <atomic>
#include <cstdio>

namespace aprhost::core {
namespace {

std::atomic<int> g_level{APH_LOG_WARN};
volatile int32_t g_abort = 0;

void log_to_stderr(void*, aph_log_level level, const char* message) {
    if (static_cast<int>(level) < g_level.load()) return;
    static const char* names[] = {"debug", "info", "warning", "error"};
    const char* n = (level >= APH_LOG_DEBUG && level <= APH_LOG_ERROR) ? names[level] : "log";
    std::fprintf(stderr, "aprhost: %s: %s\n", n, message ? message : "");
}

}  // namespace

void set_log_level(aph_log_level level) { g_level = level; }

const aph_host_services* host_services() {
    static const aph_host_services services = {sizeof(aph_host_services), nullptr, &log_to_stderr, &g_abort};
    return &services;
}

void request_abort() { g_abort = 1; }

}  // namespace aprhost::core
