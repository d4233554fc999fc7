// The services the host hands to every plugin instance: a logger routed to stderr and a process-wide abort flag.
#pragma once

#include <aprhost/abi.h>

namespace aprhost::core {

// Minimum level printed by the default logger (APH_LOG_WARN unless set, e.g. by --verbose).
void set_log_level(aph_log_level level);
// The shared services struct (static storage, valid for the process lifetime).
const aph_host_services* host_services();
// Raise the abort flag (e.g. from a SIGINT handler); plugins polling it stop with APH_STATUS_ABORTED.
void request_abort();

}  // namespace aprhost::core
