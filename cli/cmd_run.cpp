// `aprhost run MODEL -p PROMPT`: generate text, streamed to stdout; one stats line on stderr (or --json).
#include "commands.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/generator.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/sampler.hpp>
#include <aprhost/core/session.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

namespace aprhost::cli {

namespace {

struct RunOptions {
    std::string model;
    std::string prompt;
    std::string system;
    int n_predict = 128;
    float temperature = 0.8f;
    int top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    int repeat_last_n = 64;
    int64_t seed = -1;
    bool greedy = false;
    bool chat = false;
    bool ignore_eos = false;
    bool json = false;
    int ctx = 4096;
    int batch = 512;
    std::string kv_dtype = "f32";
};

}  // namespace

Runner add_run_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("run", "Generate text from a prompt");
    auto o = std::make_shared<RunOptions>();
    cmd->add_option("model", o->model, "Model file (GGUF)")->required();
    cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->required();
    cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->capture_default_str()->check(CLI::Range(0, 1 << 30));
    cmd->add_option("--temp", o->temperature, "Temperature (0 = greedy)")->capture_default_str()->check(CLI::Range(0.0f, 100.0f));
    cmd->add_option("--top-k", o->top_k, "Top-k (0 = off)")->capture_default_str()->check(CLI::Range(0, 1 << 30));
    cmd->add_option("--top-p", o->top_p, "Top-p (1 = off)")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
    cmd->add_option("--min-p", o->min_p, "Min-p (0 = off)")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
    cmd->add_option("--repeat-penalty", o->repeat_penalty, "Repetition penalty (1 = off)")->capture_default_str();
    cmd->add_option("--repeat-last-n", o->repeat_last_n, "Tokens the penalty looks back (-1 = all)")->capture_default_str();
    cmd->add_option("--seed", o->seed, "Sampling seed (default: random, printed in the stats)");
    cmd->add_flag("--greedy", o->greedy, "Greedy decoding (same as --temp 0)");
    cmd->add_flag("--chat", o->chat, "Wrap the prompt in the model's chat template as a user message");
    cmd->add_option("--system", o->system, "System message for --chat (default: the template's own)");
    cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating after end-of-generation tokens");
    cmd->add_option("-c,--ctx", o->ctx, "KV-cache context size in tokens")->capture_default_str()->check(CLI::Range(1, 1 << 24));
    cmd->add_option("-b,--batch", o->batch, "Prefill chunk size (tokens per step graph)")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    cmd->add_option("--kv-dtype", o->kv_dtype, "KV-cache element type")->capture_default_str()->check(CLI::IsMember({"f32", "f16"}));
    cmd->add_flag("--json", o->json, "Print one JSON record at the end instead of streaming text");
    return [&g, o]() {
        using clock = std::chrono::steady_clock;
        const auto t0 = clock::now();
        AppContext ctx(g);
        auto backend = ctx.create_backend();
        core::Model model(ctx.registry(), o->model, backend);
        core::SessionOptions so;
        so.n_ctx = uint32_t(o->ctx);
        so.n_batch = uint32_t(o->batch);
        so.kv_dtype = o->kv_dtype == "f16" ? APH_DTYPE_F16 : APH_DTYPE_F32;
        so.kv_options = ctx.kv_options();
        core::Session session(model, ctx.kv_plugin(), so);
        const double load_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();

        const core::Tokenizer& tok = model.tokenizer();
        std::vector<int32_t> prompt;
        if (o->chat) {
            const auto& tmpl = model.chat_template();
            std::vector<core::ChatMessage> msgs;
            std::string sys = o->system.empty() ? tmpl.default_system : o->system;
            if (!sys.empty()) msgs.push_back({"system", sys});
            msgs.push_back({"user", o->prompt});
            std::string text = tmpl.apply(msgs, true);
            // When the template writes BOS itself, do not add a second one.
            bool add_bos = tok.add_bos_default() && tmpl.bos_text.empty();
            prompt = tok.encode(text, add_bos, /*parse_special=*/true);
        } else {
            prompt = tok.encode(o->prompt, tok.add_bos_default(), /*parse_special=*/false);
        }
        if (prompt.empty()) throw core::Error(core::ErrorKind::USAGE, "the prompt is empty");
        if (prompt.size() >= session.kv().config().capacity)
            throw core::Error(core::ErrorKind::RESOURCE,
                              fmt::format("prompt of {} tokens does not fit the context of {} tokens (--ctx)",
                                          prompt.size(), session.kv().config().capacity));

        core::SamplerParams sp;
        sp.temperature = o->greedy ? 0.0f : o->temperature;
        sp.top_k = o->top_k;
        sp.top_p = o->top_p;
        sp.min_p = o->min_p;
        sp.repeat_penalty = o->repeat_penalty;
        sp.repeat_last_n = o->repeat_last_n;
        sp.seed = o->seed >= 0 ? uint64_t(o->seed) : std::random_device{}();
        core::Sampler sampler(sp);

        core::GenerateOptions go;
        go.n_predict = uint32_t(o->n_predict);
        go.ignore_eos = o->ignore_eos;
        std::string text;
        std::vector<int32_t> generated;
        auto stats = core::generate(
            session, tok, sampler, prompt, go,
            [&](std::string_view piece) {
                text += piece;
                if (!o->json) {
                    std::fwrite(piece.data(), 1, piece.size(), stdout);
                    std::fflush(stdout);
                }
                return true;
            },
            [&](int32_t id) { generated.push_back(id); });
        if (!o->json) std::fputc('\n', stdout);

        if (o->json) {
            nlohmann::json j = {{"model", o->model},
                                {"backend", backend->plugin().display_name()},
                                {"device", backend->device().name},
                                {"kv", session.kv().plugin().name},
                                {"text", text},
                                {"prompt_tokens", stats.prompt_tokens},
                                {"generated_tokens", stats.generated_tokens},
                                {"tokens", generated},
                                {"stop_reason", stats.stop_reason},
                                {"seed", sp.seed},
                                {"load_ms", load_ms},
                                {"ttft_ms", stats.ttft_ms},
                                {"prefill_ms", stats.prefill_ms},
                                {"prefill_tok_s", stats.prefill_tok_s},
                                {"decode_ms", stats.decode_ms},
                                {"decode_tok_s", stats.decode_tok_s}};
            fmt::print("{}\n", j.dump(2));
        }
        fmt::print(stderr,
                   "[aprhost] backend {} | load {:.0f} ms | prompt {} tok | TTFT {:.1f} ms | prefill {:.1f} tok/s | "
                   "decode {:.1f} tok/s ({} tok, stop: {}) | seed {}\n",
                   backend->plugin().display_name(), load_ms, stats.prompt_tokens, stats.ttft_ms, stats.prefill_tok_s,
                   stats.decode_tok_s, stats.generated_tokens, stats.stop_reason, sp.seed);
        return 0;
    };
}

}  // namespace aprhost::cli
