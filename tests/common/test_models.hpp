// Models for tests: synthetic ones written on demand into the build's test-data folder (cached by name), and
// the real SmolLM2 file when scripts/fetch-models.sh has fetched it.
#pragma once

#include <aprhost/core/dtype.hpp>
#include <aprhost/core/synth_model.hpp>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

namespace aprhost::test {

// Path of a synthetic model, written once per build tree (and per seed).
inline std::string synth_model(const std::string& arch, const std::string& shape, const std::string& quant,
                               uint64_t seed = 1) {
    namespace fs = std::filesystem;
    std::string path = std::string(APRHOST_TEST_DATA_DIR) + "/synth-" + arch + "-" + shape + "-" + quant + "-s" +
                       std::to_string(seed) + ".gguf";
    if (!fs::exists(path)) {
        core::SynthOptions o;
        o.arch = arch;
        o.shape = shape;
        o.quant = *core::dtype_from_name(quant);
        o.seed = seed;
        // ctest runs test processes in parallel: write under a private name, then rename atomically (the
        // content is deterministic, so whichever rename lands last is the same file).
        std::string tmp = path + "." + std::to_string(::getpid());
        core::write_synthetic_model(o, tmp);
        fs::rename(tmp, path);
    }
    return path;
}

// SmolLM2-135M-Instruct Q4_1: $APRHOST_SMOLLM2, else <repo>/models/, else nullopt (tests then skip with a WARN).
inline std::optional<std::string> smollm2_path() {
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("APRHOST_SMOLLM2"); env && fs::exists(env)) return std::string(env);
    std::string p = std::string(APRHOST_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (fs::exists(p)) return p;
    return std::nullopt;
}

}  // namespace aprhost::test
