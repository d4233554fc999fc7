// Small output helpers shared by the subcommands.
#pragma once

#include <cstdint>
#include <string>

namespace aprhost::cli {

std::string human_bytes(uint64_t bytes);  // "93.8 MiB"
// Progress bar on stderr ("\r[#####     ] 45% label"), only when stderr is a terminal.
void progress_bar(const std::string& label, uint64_t done, uint64_t total);
void progress_done();

}  // namespace aprhost::cli
