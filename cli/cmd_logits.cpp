// `aprhost logits MODEL --tokens 1,2,3 -o FILE`: float32 logits for parity checks. The file holds one line of
// JSON metadata, then n_positions × n_vocab little-endian floats (row-major, position-major).
#include "commands.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/session.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

namespace aprhost::cli {

namespace {
std::vector<int32_t> parse_token_list(const std::string& s) {
    std::vector<int32_t> out;
    size_t start = 0;
    while (start < s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        std::string item = s.substr(start, end - start);
        try {
            size_t used = 0;
            long v = std::stol(item, &used);
            if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument("x");
            out.push_back(int32_t(v));
        } catch (const std::exception&) {
            throw core::Error(core::ErrorKind::USAGE, "--tokens: '" + item + "' is not a token id");
        }
        start = end + 1;
    }
    return out;
}
}  // namespace

Runner add_logits_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("logits", "Write float32 logits of a token sequence to a file (parity checks)");
    struct Opts {
        std::string model, tokens, prompt, output;
        bool all = false, decode = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("model", o->model, "Model file (GGUF)")->required();
    auto* t = cmd->add_option("--tokens", o->tokens, "Comma-separated token ids");
    cmd->add_option("--prompt", o->prompt, "Text to tokenize instead of --tokens")->excludes(t);
    cmd->add_flag("--all-positions", o->all, "Logits of every position (default: last only)");
    cmd->add_flag("--decode", o->decode, "Feed one token per step through the KV cache instead of one batch");
    cmd->add_option("-o,--output", o->output, "Output file ('-' = stdout)")->required();
    return [&g, o]() {
        AppContext ctx(g);
        auto backend = ctx.create_backend();
        core::Model model(ctx.registry(), o->model, backend, ctx.format_options());
        std::vector<int32_t> ids;
        if (!o->tokens.empty()) ids = parse_token_list(o->tokens);
        else if (!o->prompt.empty())
            ids = model.tokenizer().encode(o->prompt, model.tokenizer().add_bos_default(), false);
        if (ids.empty()) throw core::Error(core::ErrorKind::USAGE, "give --tokens or --prompt");
        core::SessionOptions so;
        so.n_ctx = uint32_t(ids.size() + 1);
        so.kv_options = ctx.kv_options();
        core::Session session(model, ctx.kv_plugin(), so);
        std::vector<float> out;
        if (o->decode) {
            for (size_t i = 0; i < ids.size(); ++i) {
                const auto& l = session.forward(std::span<const int32_t>(&ids[i], 1), false);
                if (o->all || i + 1 == ids.size()) out.insert(out.end(), l.begin(), l.end());
            }
        } else {
            out = session.forward(ids, o->all);
        }
        const size_t V = size_t(model.hparams().n_vocab);
        nlohmann::json header = {{"model", o->model},
                                 {"backend", backend->plugin().display_name()},
                                 {"tokens", ids},
                                 {"n_vocab", V},
                                 {"n_positions", out.size() / V},
                                 {"mode", o->decode ? "decode" : "batch"},
                                 {"dtype", "f32"},
                                 {"layout", "[n_positions][n_vocab] little-endian"}};
        std::string head = header.dump() + "\n";
        FILE* f = o->output == "-" ? stdout : std::fopen(o->output.c_str(), "wb");
        if (!f) throw core::Error(core::ErrorKind::USAGE, "cannot write " + o->output);
        bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size() &&
                  std::fwrite(out.data(), sizeof(float), out.size(), f) == out.size();
        if (f != stdout) ok = (std::fclose(f) == 0) && ok;
        if (!ok) throw core::Error(core::ErrorKind::USAGE, "write to " + o->output + " failed");
        if (o->output != "-")
            fmt::print(stderr, "[aprhost] wrote {} positions × {} logits to {}\n", out.size() / V, V, o->output);
        return 0;
    };
}

}  // namespace aprhost::cli
