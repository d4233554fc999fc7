// Errors raised by the host. Each kind maps to one CLI exit code (see cli/exit_codes.hpp and README).
#pragma once

#include <stdexcept>
#include <string>

namespace aprhost::core {

enum class ErrorKind {
    USAGE = 1,     // bad flags or arguments
    BAD_INPUT = 2, // malformed / unsupported model file, bad token ids
    PLUGIN = 3,    // plugin or backend could not be loaded or failed
    RESOURCE = 4,  // KV cache exhausted, out of memory
};

// One-line message; the CLI prints "aprhost: error: <what()>" and exits with int(kind()).
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const noexcept { return kind_; }

private:
    ErrorKind kind_;
};

}  // namespace aprhost::core
