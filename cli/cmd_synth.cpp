// `aprhost synth`: write a random-weight GGUF with the real hyper-parameters of a Qwen2.5 size, so tests and
// benchmarks never depend on downloads.
#include "commands.hpp"
#include "output.hpp"

#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/synth_model.hpp>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>

namespace aprhost::cli {

Runner add_synth_command(CLI::App& app, const GlobalOptions&) {
    auto* cmd = app.add_subcommand("synth", "Write a synthetic (random-weight) model with real Qwen2.5 shapes");
    struct Opts {
        std::string arch = "qwen2", shape = "tiny", quant = "q4_k", output;
        uint64_t seed = 1;
        bool force = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--arch", o->arch, "Architecture")->capture_default_str()->check(CLI::IsMember({"qwen2", "llama"}));
    cmd->add_option("--shape", o->shape, "Model size")->capture_default_str()
        ->check(CLI::IsMember({"tiny", "0.5b", "1.5b", "7b"}));
    cmd->add_option("--quant", o->quant, "Weight type (q4_k = a Q4_K_M-style mix)")->capture_default_str()
        ->check(CLI::IsMember({"q4_k", "q4_0", "q8_0", "f16"}, CLI::ignore_case));
    cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
    cmd->add_option("-o,--output", o->output, "Output .gguf file")->required();
    cmd->add_flag("-f,--force", o->force, "Overwrite an existing file");
    return [o]() {
        std::error_code ec;
        if (std::filesystem::exists(o->output, ec) && !o->force)
            throw core::Error(core::ErrorKind::USAGE, o->output + " exists (use --force to overwrite)");
        core::SynthOptions so;
        so.arch = o->arch;
        so.shape = o->shape;
        auto q = core::dtype_from_name(o->quant);
        if (!q) throw core::Error(core::ErrorKind::USAGE, "unknown --quant " + o->quant);
        so.quant = *q;
        so.seed = o->seed;
        const auto t0 = std::chrono::steady_clock::now();
        core::write_synthetic_model(so, o->output, [&](uint64_t done, uint64_t total) {
            progress_bar(o->output, done, total);
        });
        progress_done();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fmt::print(stderr, "[aprhost] wrote {} ({} {} {}, seed {}, {}) in {:.1f} s\n", o->output, o->arch, o->shape,
                   o->quant, o->seed, human_bytes(std::filesystem::file_size(o->output, ec)), s);
        return 0;
    };
}

}  // namespace aprhost::cli
