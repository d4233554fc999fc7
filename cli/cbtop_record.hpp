// The headless output of `aprhost cbtop`: a Frame as one JSON record (one line, stable field names documented in
// docs/tools.md) or as one human-readable line.
#pragma once

#include "cbtop_metrics.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace aprhost::cli::cbtop {

nlohmann::ordered_json frame_json(const Frame& f);  // keys in the documented order
nlohmann::ordered_json backend_json(const BackendSnapshot& b);
// "t=3.0s cpu-avx2 104.2 tok/s (avg 101.0) TTFT 51.2 ms | 312 tok, 3 prompts | mul_mat 89% | RSS 180.3 MiB | ..."
std::string frame_line(const Frame& f);
// "180.3 MiB"
std::string format_bytes(uint64_t bytes);

}  // namespace aprhost::cli::cbtop
