// `aprhost convert IN OUT`: GGUF ⇄ APR (and APR → APR to change compression). The input is opened through the
// format plugins, so what is written is exactly what the host would run: every tensor's bytes pass through
// unchanged (all quant types), metadata keeps every key and type.
#include "commands.hpp"
#include "output.hpp"

#include <aprhost/core/apr_writer.hpp>
#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/gguf_writer.hpp>
#include <aprhost/core/model_file.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

namespace aprhost::cli {
namespace {

std::string extension_format(const std::string& path) {
    auto ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".apr") return "apr";
    if (ext == ".gguf") return "gguf";
    return "";
}

// Tensors in the order their bytes sit in the input (GGUF → APR → GGUF gives the original order back).
std::vector<const core::TensorRef*> file_order(const core::ModelFile& f) {
    std::vector<const core::TensorRef*> v;
    for (auto& t : f.tensors()) v.push_back(&t);
    std::stable_sort(v.begin(), v.end(), [](const core::TensorRef* a, const core::TensorRef* b) {
        return std::less<const void*>()(a->data, b->data);
    });
    return v;
}

core::AprWriter::Fill copy_of(const core::TensorRef* t) {
    return [t](std::span<uint8_t> out) { std::memcpy(out.data(), t->data, std::min<uint64_t>(out.size(), t->size)); };
}

}  // namespace

Runner add_convert_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("convert", "Convert a model between GGUF and APR v2 (tensor bytes unchanged)");
    struct Opts {
        std::string input, output, to, compress = "none";
        bool force = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("input", o->input, "Input model (GGUF or APR)")->required();
    cmd->add_option("output", o->output, "Output file")->required();
    cmd->add_option("--to", o->to, "Output format (default: from the output's extension)")
        ->check(CLI::IsMember({"apr", "gguf"}));
    cmd->add_option("--compress", o->compress, "APR payload compression")->capture_default_str()
        ->check(CLI::IsMember({"none", "lz4", "zstd"}));
    cmd->add_flag("-f,--force", o->force, "Overwrite an existing output file");
    return [&g, o]() {
        std::string to = o->to.empty() ? extension_format(o->output) : o->to;
        if (to.empty())
            throw core::Error(core::ErrorKind::USAGE,
                              "cannot tell the output format from '" + o->output + "' (use --to apr|gguf)");
        if (to == "gguf" && o->compress != "none")
            throw core::Error(core::ErrorKind::USAGE, "--compress applies to APR output only");
        std::error_code ec;
        if (std::filesystem::exists(o->output, ec) && !o->force)
            throw core::Error(core::ErrorKind::USAGE, o->output + " exists (use --force to overwrite)");
        if (std::filesystem::exists(o->output, ec) && std::filesystem::equivalent(o->input, o->output, ec))
            throw core::Error(core::ErrorKind::USAGE, "input and output are the same file");

        AppContext ctx(g);
        const auto t0 = std::chrono::steady_clock::now();
        auto in = core::ModelFile::open(ctx.registry(), o->input, "", ctx.format_options());
        auto tensors = file_order(*in);
        auto progress = [&](uint64_t done, uint64_t total) { progress_bar(o->output, done, total); };
        if (to == "apr") {
            core::AprCompression c = o->compress == "lz4"    ? core::AprCompression::LZ4
                                     : o->compress == "zstd" ? core::AprCompression::ZSTD
                                                             : core::AprCompression::NONE;
            core::AprWriter w(in->metadata(), c);
            for (auto* t : tensors)
                w.add_tensor(t->name, t->dtype, std::vector<int64_t>(t->ne.begin(), t->ne.begin() + t->n_dims),
                             copy_of(t));
            w.write(o->output, progress);
        } else {
            uint32_t alignment = 32;
            if (auto a = in->metadata().get_int("general.alignment"); a && *a > 0) alignment = uint32_t(*a);
            core::GgufWriter w(in->metadata(), alignment);
            for (auto* t : tensors) {
                if (t->dtype == APH_DTYPE_APR_Q4 || t->dtype == APH_DTYPE_APR_Q8)
                    throw core::Error(core::ErrorKind::BAD_INPUT,
                                      "tensor '" + t->name + "' has the APR-native type " +
                                          core::dtype_name(t->dtype) + ", which GGUF cannot hold");
                w.add_tensor(t->name, t->dtype, std::vector<int64_t>(t->ne.begin(), t->ne.begin() + t->n_dims),
                             copy_of(t));
            }
            w.write(o->output, progress);
        }
        progress_done();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fmt::print(stderr, "[aprhost] wrote {} ({}{}, {} tensors, {}) in {:.1f} s\n", o->output, to,
                   to == "apr" && o->compress != "none" ? ", " + o->compress : std::string(), tensors.size(),
                   human_bytes(std::filesystem::file_size(o->output, ec)), s);
        return 0;
    };
}

}  // namespace aprhost::cli
