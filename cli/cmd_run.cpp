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
    int parallel = 1;
    std::string kv_dtype = "f32";
};

// --parallel N: N completions in one batch; texts are printed when all are done (they interleave otherwise).
int run_parallel(const RunOptions& o, const core::SamplerParams& base, core::Session& session,
                 const core::Tokenizer& tok, const std::vector<int32_t>& prompt, const core::BackendContext& backend,
                 double load_ms) {
    std::vector<core::Sampler> samplers;
    for (int s = 0; s < o.parallel; ++s) {
        core::SamplerParams p = base;
        p.seed = base.seed + uint64_t(s);
        samplers.emplace_back(p);
    }
    core::GenerateOptions go;
    go.n_predict = uint32_t(o.n_predict);
    go.ignore_eos = o.ignore_eos;
    std::vector<std::vector<int32_t>> ids(size_t(o.parallel));
    core::GenerationStats agg;
    auto st = core::generate_parallel(session, tok, samplers, prompt, go,
                                      [&](uint32_t s, int32_t t) { ids[s].push_back(t); }, agg);
    nlohmann::json completions = nlohmann::json::array();
    for (int s = 0; s < o.parallel; ++s) {
        std::vector<int32_t> shown;
        for (auto t : ids[size_t(s)])
            if (!tok.is_end_of_generation(t) || o.ignore_eos) shown.push_back(t);
        std::string text = tok.decode(shown);
        if (o.json) {
            completions.push_back({{"seed", base.seed + uint64_t(s)}, {"text", text}, {"tokens", ids[size_t(s)]},
                                   {"stop_reason", st[size_t(s)].stop_reason}});
        } else {
            fmt::print("--- completion {} (seed {}, {} tokens, stop: {}) ---\n{}\n", s, base.seed + uint64_t(s),
                       st[size_t(s)].generated_tokens, st[size_t(s)].stop_reason, text);
        }
    }
    if (o.json) {
        nlohmann::json j = {{"model", o.model},          {"backend", backend.plugin().display_name()},
                            {"parallel", o.parallel},    {"completions", completions},
                            {"prompt_tokens", prompt.size()}, {"prompt_tokens_shared", agg.prompt_tokens_shared},
                            {"generated_tokens", agg.generated_tokens},
                            {"load_ms", load_ms},        {"ttft_ms", agg.ttft_ms},
                            {"prefill_tok_s", agg.prefill_tok_s}, {"decode_tok_s", agg.decode_tok_s}};
        fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    fmt::print(stderr,
               "[aprhost] backend {} | load {:.0f} ms | {} sequences × prompt {} tok ({} shared from the cache) | "
               "TTFT {:.1f} ms | prefill {:.1f} tok/s | decode {:.1f} tok/s aggregate ({} tok)\n",
               backend.plugin().display_name(), load_ms, o.parallel, prompt.size(), agg.prompt_tokens_shared,
               agg.ttft_ms, agg.prefill_tok_s, agg.decode_tok_s, agg.generated_tokens);
    return 0;
}

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
    cmd->add_option("--parallel", o->parallel,
                    "Generate N completions of the prompt (seeds seed, seed+1, ...) in one batch; each gets --ctx")
        ->capture_default_str()->check(CLI::Range(1, 256));
    cmd->add_flag("--json", o->json, "Print one JSON record at the end instead of streaming text");
    return [&g, o]() {
        using clock = std::chrono::steady_clock;
        const auto t0 = clock::now();
        AppContext ctx(g);
        auto backend = ctx.create_backend();
        core::Model model(ctx.registry(), o->model, backend, ctx.format_options());
        core::SessionOptions so;
        so.n_ctx = uint32_t(o->ctx) * uint32_t(o->parallel);
        so.n_seq = uint32_t(o->parallel);
        so.n_batch = uint32_t(o->batch);
        so.kv_dtype = o->kv_dtype == "f16" ? APH_DTYPE_F16 : APH_DTYPE_F32;
        so.kv_options = ctx.kv_options();
        core::Session session(model, ctx.kv_plugin(), so);
        const double load_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();

        const core::Tokenizer& tok = model.tokenizer();
        std::vector<int32_t> prompt;
        if (o->chat) {
            prompt = core::encode_chat_prompt(tok, model.chat_template(), o->prompt, o->system);
        } else {
            prompt = tok.encode(o->prompt, tok.add_bos_default(), /*parse_special=*/false);
        }
        if (prompt.empty()) throw core::Error(core::ErrorKind::USAGE, "the prompt is empty");
        if (prompt.size() >= uint32_t(o->ctx))
            throw core::Error(core::ErrorKind::RESOURCE,
                              fmt::format("prompt of {} tokens does not fit the context of {} tokens (--ctx)",
                                          prompt.size(), o->ctx));

        core::SamplerParams sp;
        sp.temperature = o->greedy ? 0.0f : o->temperature;
        sp.top_k = o->top_k;
        sp.top_p = o->top_p;
        sp.min_p = o->min_p;
        sp.repeat_penalty = o->repeat_penalty;
        sp.repeat_last_n = o->repeat_last_n;
        sp.seed = o->seed >= 0 ? uint64_t(o->seed) : std::random_device{}();
        if (o->parallel > 1) return run_parallel(*o, sp, session, tok, prompt, *backend, load_ms);
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
        if (!o->json) {
            std::fputc('\n', stdout);
            std::fflush(stdout);  // the stats line on stderr must come after the text
        }

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
            fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
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
