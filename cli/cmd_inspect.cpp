// `aprhost inspect MODEL`: architecture, hyper-parameters, tokenizer and the tensor table summary.
#include "commands.hpp"
#include "output.hpp"

#include <aprhost/core/chat_template.hpp>
#include <aprhost/core/dtype.hpp>
#include <aprhost/core/model_desc.hpp>
#include <aprhost/core/model_file.hpp>
#include <aprhost/core/tokenizer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>

namespace aprhost::cli {

Runner add_inspect_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("inspect", "Show a model's architecture, hyper-parameters, tokenizer and tensors");
    auto path = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto tensors = std::make_shared<bool>(false);
    auto metadata = std::make_shared<bool>(false);
    cmd->add_option("model", *path, "Model file (GGUF or APR)")->required();
    cmd->add_flag("--json", *json, "Print one JSON document");
    cmd->add_flag("--tensors", *tensors, "List every tensor");
    cmd->add_flag("--metadata", *metadata, "List every metadata key");
    return [&g, path, json, tensors, metadata]() {
        AppContext ctx(g);
        auto file = core::ModelFile::open(ctx.registry(), *path, "", ctx.format_options());
        nlohmann::json out;
        out["path"] = *path;
        out["format"] = file->format_plugin().name;
        out["container"] = file->container_description();
        out["file_bytes"] = file->file_size();
        // Tensor summary by dtype.
        std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // name → (count, bytes)
        uint64_t total_bytes = 0, total_params = 0;
        for (auto& t : file->tensors()) {
            auto& e = by_type[core::dtype_name(t.dtype)];
            e.first++, e.second += t.size;
            total_bytes += t.size;
            total_params += uint64_t(t.elements());
        }
        out["tensor_count"] = file->tensors().size();
        out["parameters"] = total_params;
        out["tensor_bytes"] = total_bytes;
        for (auto& [name, e] : by_type) out["dtypes"][name] = {{"tensors", e.first}, {"bytes", e.second}};
        std::string desc_error;
        try {
            auto d = core::describe_model(*file);
            const auto& hp = d.hp;
            out["architecture"] = hp.arch;
            out["hparams"] = {{"n_embd", hp.n_embd},         {"n_layer", hp.n_layer},
                              {"n_head", hp.n_head},         {"n_head_kv", hp.n_head_kv},
                              {"head_dim", hp.head_dim},     {"n_ff", hp.n_ff},
                              {"n_vocab", hp.n_vocab},       {"n_ctx_train", hp.n_ctx_train},
                              {"rms_eps", hp.rms_eps},       {"rope_freq_base", hp.rope_freq_base},
                              {"rope_mode", hp.rope_mode == APH_ROPE_NEOX ? "neox" : "norm"},
                              {"tied_embeddings", d.tied_embeddings}};
            out["weight_bytes_per_token"] = d.weight_bytes_per_token();
        } catch (const std::exception& e) {
            desc_error = e.what();
            out["architecture"] = file->metadata().get_string("general.architecture").value_or("?");
            out["model_error"] = desc_error;
        }
        try {
            auto tok = core::Tokenizer::from_metadata(file->metadata());
            auto tmpl = core::ChatTemplate::detect(file->metadata().get_string("tokenizer.chat_template").value_or(""));
            out["tokenizer"] = {{"model", tok->model_name()}, {"vocab_size", tok->vocab_size()},
                                {"bos", tok->bos_id()},       {"eos", tok->eos_id()},
                                {"add_bos", tok->add_bos_default()},
                                {"chat_format", core::chat_format_name(tmpl.format)}};
        } catch (const std::exception& e) {
            out["tokenizer_error"] = e.what();
        }
        if (*tensors)
            for (auto& t : file->tensors())
                out["tensors"].push_back({{"name", t.name}, {"dtype", core::dtype_name(t.dtype)},
                                          {"shape", std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims)},
                                          {"bytes", t.size}});
        if (*metadata)
            for (auto& [k, v] : file->metadata().entries()) out["metadata"][k] = core::Metadata::describe(v, 80);
        if (*json) {
            fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
            return 0;
        }
        fmt::print("{}\n  container   {} ({})\n", *path, out["container"].get<std::string>(), human_bytes(file->file_size()));
        fmt::print("  arch        {}\n", out["architecture"].get<std::string>());
        if (out.contains("hparams")) {
            auto& h = out["hparams"];
            fmt::print("  shape       {} layers, embd {}, ffn {}, heads {} (kv {}), head_dim {}, vocab {}\n",
                       h["n_layer"].get<int64_t>(), h["n_embd"].get<int64_t>(), h["n_ff"].get<int64_t>(),
                       h["n_head"].get<int64_t>(), h["n_head_kv"].get<int64_t>(), h["head_dim"].get<int64_t>(),
                       h["n_vocab"].get<int64_t>());
            fmt::print("  rope        {} base {:g}, rms eps {:g}, ctx {}{}\n", h["rope_mode"].get<std::string>(),
                       h["rope_freq_base"].get<double>(), h["rms_eps"].get<double>(), h["n_ctx_train"].get<int64_t>(),
                       h["tied_embeddings"].get<bool>() ? ", tied embeddings" : "");
            fmt::print("  per token   {} of weights read per decoded token\n",
                       human_bytes(out["weight_bytes_per_token"].get<uint64_t>()));
        } else {
            fmt::print("  model       cannot run: {}\n", desc_error);
        }
        if (out.contains("tokenizer")) {
            auto& t = out["tokenizer"];
            fmt::print("  tokenizer   {}, {} tokens, bos {}, eos {}, chat template {}\n", t["model"].get<std::string>(),
                       t["vocab_size"].get<int>(), t["bos"].get<int>(), t["eos"].get<int>(),
                       t["chat_format"].get<std::string>());
        } else {
            fmt::print("  tokenizer   unavailable: {}\n", out["tokenizer_error"].get<std::string>());
        }
        fmt::print("  tensors     {} ({:.1f} M parameters, {})\n", file->tensors().size(), total_params / 1e6,
                   human_bytes(total_bytes));
        for (auto& [name, e] : by_type)
            fmt::print("    {:<6} {:>5} tensors  {:>10}  {:5.1f} %\n", name, e.first, human_bytes(e.second),
                       100.0 * double(e.second) / double(total_bytes ? total_bytes : 1));
        if (*tensors)
            for (auto& t : file->tensors())
                fmt::print("    {:<36} {:<6} {:<18} {}\n", t.name, core::dtype_name(t.dtype), t.shape_string(),
                           human_bytes(t.size));
        if (*metadata)
            for (auto& [k, v] : file->metadata().entries())
                fmt::print("    {:<44} {}\n", k, core::Metadata::describe(v, 80));
        return 0;
    };
}

}  // namespace aprhost::cli
