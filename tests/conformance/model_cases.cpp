// Model-level cases on the synthetic tiny models (always available: written on demand) and SmolLM2-135M when
// present: the KV invariant, every KV plugin against kv_contiguous, cross-backend parity against the CPU
// backend, and the O(n) decode cost. Bounds come from tolerances.hpp.
#include "conformance.hpp"
#include "tolerances.hpp"

#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/model.hpp>
#include <aprhost/core/session.hpp>
#include <aprhost/core/synth_model.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace aprhost::conformance {

std::shared_ptr<core::BackendContext> Env::backend_context() {
    if (!ctx_) ctx_ = core::BackendContext::create(registry->get(APH_PLUGIN_BACKEND, backend), backend_options);
    return ctx_;
}

std::string Env::synth_model(const std::string& arch, const std::string& quant) {
    namespace fs = std::filesystem;
    // Same naming as tests/common/test_models.hpp, so the test tree's cache is shared.
    const std::string path = model_dir + "/synth-" + arch + "-tiny-" + quant + "-s1.gguf";
    if (!fs::exists(path)) {
        fs::create_directories(model_dir);
        core::SynthOptions o;
        o.arch = arch;
        o.shape = "tiny";
        o.quant = *core::dtype_from_name(quant);
        o.seed = 1;
        const std::string tmp = path + "." + std::to_string(::getpid());  // parallel writers: rename atomically
        core::write_synthetic_model(o, tmp);
        fs::rename(tmp, path);
    }
    return path;
}

std::vector<std::string> Env::kv_plugins() const {
    if (!kv.empty()) return kv;
    std::vector<std::string> out;
    for (auto& p : registry->plugins(APH_PLUGIN_KV_CACHE)) out.push_back(p->name);
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

struct ModelRef {
    std::string label;  // "tiny-qwen2-q4_K", "smollm2"
    std::string arch, quant;  // synthetic; empty for SmolLM2
};

// The model's path, or "" when it is SmolLM2 and absent.
std::string model_path(Env& env, const ModelRef& m) {
    if (m.arch.empty()) return env.smollm2 ? *env.smollm2 : "";
    return env.synth_model(m.arch, m.quant);
}

std::vector<int32_t> random_tokens(size_t n, uint32_t seed, int64_t vocab) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& v : t) v = int32_t(rng() % uint32_t(vocab));
    return t;
}

size_t argmax(const float* v, size_t n) { return size_t(std::max_element(v, v + n) - v); }

double max_abs_diff(const float* a, const float* b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
        worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    }
    return worst;
}

core::SessionOptions session_options(uint32_t n_ctx, const std::map<std::string, std::string>& kv_opts) {
    core::SessionOptions so;
    so.n_ctx = n_ctx;
    so.kv_options = kv_opts;
    return so;
}

// Options for a KV plugin: the user's --kv-opt go to the plugins under test, not to the contiguous oracle.
std::map<std::string, std::string> kv_opts_for(const Env& env, const std::string& kv) {
    return kv == "contiguous" && std::find(env.kv.begin(), env.kv.end(), kv) == env.kv.end()
               ? std::map<std::string, std::string>{}
               : env.kv_options;
}

// KV invariant: decode-with-cache logits of token n vs row n of one batched forward over all tokens.
Result kv_invariant(Env& env, const std::string& path, const std::string& kv, uint32_t n_tokens) {
    core::Model model(*env.registry, path, env.backend_context());
    core::Session s(model, env.registry->get(APH_PLUGIN_KV_CACHE, kv), session_options(256, kv_opts_for(env, kv)));
    const size_t V = size_t(model.hparams().n_vocab);
    const auto tokens = random_tokens(n_tokens, 7, int64_t(V));
    const std::vector<float> batch = s.forward(tokens, /*all_logits=*/true);
    if (batch.size() != tokens.size() * V) return Result::fail("batched forward returned the wrong number of logits");
    s.reset();
    double worst = 0;
    for (size_t n = 0; n < tokens.size(); ++n) {
        const auto& step = s.forward(std::span<const int32_t>(&tokens[n], 1));
        worst = std::max(worst, max_abs_diff(step.data(), batch.data() + n * V, V));
    }
    const double bound = kv_invariant_bound(env.backend_context()->plugin().name);
    const std::string d = fmt::format("{} positions: max abs diff {:.3g} (bound {:.0e} for backend '{}')", n_tokens,
                                      worst, bound, env.backend_context()->plugin().display_name());
    return worst <= bound ? Result::pass(d, worst, bound) : Result::fail(d, worst, bound);
}

// A KV plugin vs kv_contiguous on the same backend, same tokens: identical logits while nothing was evicted;
// past the contiguous cache's capacity the plugin must either refuse cleanly (RESOURCE) or evict and stay finite.
Result kv_parity(Env& env, const ModelRef& m, const std::string& kv) {
    if (kv == "contiguous") return Result::skip("contiguous is the oracle");
    const uint32_t ctx = 32, total = 48, prefill = 8;
    core::Model model(*env.registry, model_path(env, m), env.backend_context());
    core::Session ref(model, env.registry->get(APH_PLUGIN_KV_CACHE, "contiguous"), session_options(ctx, {}));
    core::Session tst(model, env.registry->get(APH_PLUGIN_KV_CACHE, kv), session_options(ctx, kv_opts_for(env, kv)));
    const size_t V = size_t(model.hparams().n_vocab);
    const auto tokens = random_tokens(total, 5, int64_t(V));
    const std::span<const int32_t> all(tokens);
    double worst = max_abs_diff(ref.forward(all.first(prefill), true).data(), tst.forward(all.first(prefill), true).data(),
                                prefill * V);
    uint32_t compared = prefill, evicted_at = 0, refused_at = 0;
    bool ref_full = false;
    for (uint32_t n = prefill; n < total; ++n) {
        std::vector<float> r;
        try {
            if (!ref_full) r = ref.forward(all.subspan(n, 1));
        } catch (const core::Error& e) {
            if (e.kind() != core::ErrorKind::RESOURCE) throw;
            ref_full = true;
        }
        std::vector<float> t;
        try {
            t = tst.forward(all.subspan(n, 1));
        } catch (const core::Error& e) {
            if (e.kind() != core::ErrorKind::RESOURCE)
                return Result::fail(fmt::format("token {}: error of the wrong kind: {}", n, e.what()));
            if (n < ctx) return Result::fail(fmt::format("refused token {} of a {}-token cache: {}", n, ctx, e.what()));
            refused_at = n;
            break;
        }
        for (float x : t)
            if (!std::isfinite(x)) return Result::fail(fmt::format("non-finite logit at token {}", n));
        if (!evicted_at && tst.kv().stats().evictions > 0) evicted_at = n;
        if (!ref_full && !evicted_at) {
            worst = std::max(worst, max_abs_diff(t.data(), r.data(), V));
            ++compared;
        }
    }
    std::string d = fmt::format("{} positions compared: max abs diff {:.3g} (bound: identical)", compared, worst);
    if (evicted_at) d += fmt::format("; first eviction at token {}, finite after", evicted_at);
    else if (refused_at) d += fmt::format("; full at {} tokens, refused cleanly", refused_at);
    else d += "; no eviction and no refusal past the capacity";
    return worst == 0.0 ? Result::pass(d, worst, 0) : Result::fail(d, worst, 0);
}

// The backend under test vs the reference backend: per-position logits (teacher-forced on the reference's greedy
// continuation) within NMSE bound and the same greedy token, a near-tie in the reference excused.
Result cross_backend(Env& env, const std::string& path) {
    auto ref_plugin = env.registry->get(APH_PLUGIN_BACKEND, env.reference_backend);
    auto tst_ctx = env.backend_context();
    if (ref_plugin->path == tst_ctx->plugin().path)
        return Result::skip("the backend under test is the reference '" + env.reference_backend +
                            "'; load another backend to compare");
    auto ref_ctx = core::BackendContext::create(ref_plugin, {});
    core::Model ref_model(*env.registry, path, ref_ctx), tst_model(*env.registry, path, tst_ctx);
    const size_t V = size_t(ref_model.hparams().n_vocab);
    // A real prompt: random ids through a trained model drive it into unusual activations.
    auto tokens = ref_model.tokenizer().encode("The capital of France is Paris, and the capital of Italy is", true, false);
    {
        core::Session gen(ref_model, env.registry->get(APH_PLUGIN_KV_CACHE, "contiguous"), session_options(64, {}));
        std::vector<float> l = gen.forward(tokens);
        for (int i = 0; i < 24; ++i) {
            tokens.push_back(int32_t(argmax(l.data(), V)));
            l = gen.forward(std::span<const int32_t>(&tokens.back(), 1));
        }
    }
    auto run = [&](const core::Model& model) {
        core::Session s(model, env.registry->get(APH_PLUGIN_KV_CACHE, "contiguous"), session_options(64, {}));
        return s.forward(tokens, true);
    };
    const std::vector<float> a = run(ref_model), b = run(tst_model);
    double worst = 0;
    size_t worst_pos = 0;
    int mismatches = 0, excused = 0;
    for (size_t p = 0; p < tokens.size(); ++p) {
        const float* ra = a.data() + p * V;
        const float* rb = b.data() + p * V;
        double num = 0, den = 0;
        for (size_t i = 0; i < V; ++i) {
            if (!std::isfinite(rb[i])) return Result::fail(fmt::format("non-finite logit at position {}", p));
            num += double(rb[i] - ra[i]) * double(rb[i] - ra[i]);
            den += double(ra[i]) * double(ra[i]);
        }
        const double e = num / std::max(den, 1e-30);
        if (e > worst) worst = e, worst_pos = p;
        const size_t ta = argmax(ra, V), tb = argmax(rb, V);
        if (ta != tb) {
            if (double(ra[ta]) - double(ra[tb]) < kCrossBackendTieMargin) ++excused;
            else ++mismatches;
        }
    }
    const std::string d =
        fmt::format("{} vs {}: {} positions, worst nmse {:.3g} at position {}, greedy mismatches {} (+{} near-ties)",
                    tst_ctx->plugin().display_name(), ref_plugin->display_name(), tokens.size(), worst, worst_pos,
                    mismatches, excused);
    return worst <= kCrossBackendNmse && mismatches == 0 ? Result::pass(d, worst, kCrossBackendNmse)
                                                         : Result::fail(d, worst, kCrossBackendNmse);
}

// Decode step time at context 100 vs 10 (median of 7 steps each).
Result decode_cost(Env& env, const ModelRef& m) {
    const std::string path = model_path(env, m);
    if (path.empty()) return Result::skip("SmolLM2 model not found (scripts/fetch-models.sh or APRHOST_SMOLLM2)");
    core::Model model(*env.registry, path, env.backend_context());
    const std::string kv = env.kv_plugins().empty() ? "contiguous" : env.kv_plugins().front();
    core::Session s(model, env.registry->get(APH_PLUGIN_KV_CACHE, kv), session_options(128, kv_opts_for(env, kv)));
    const auto tokens = random_tokens(110, 9, model.hparams().n_vocab);
    const std::span<const int32_t> all(tokens);
    auto median_step = [&](uint32_t from) {
        std::vector<double> t;
        for (uint32_t i = from; i < from + 7; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            s.forward(all.subspan(i, 1));
            t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(t.begin(), t.end());
        return t[3];
    };
    s.forward(all.first(9));
    s.forward(all.subspan(9, 1));  // warm-up step
    const double at10 = median_step(10);
    s.forward(all.subspan(17, 100 - 17));
    const double at100 = median_step(100);
    const double ratio = at100 / std::max(at10, 1e-6);
    const std::string d = fmt::format("decode step {:.3f} ms at ctx 10, {:.3f} ms at ctx 100: {:.2f}x (bound {:g}x)",
                                      at10, at100, ratio, kDecodeCostRatio);
    return ratio < kDecodeCostRatio ? Result::pass(d, ratio, kDecodeCostRatio) : Result::fail(d, ratio, kDecodeCostRatio);
}

const ModelRef kTinyQwen{"tiny-qwen2-q4_K", "qwen2", "q4_k"};
const ModelRef kTinyLlama{"tiny-llama-q4_0", "llama", "q4_0"};
const ModelRef kSmol{"smollm2", "", ""};

// A backend that reports a node of the model unsupported (Session's supports() check) cannot be judged at model
// level: SKIP with its reason. Every other error stays a FAIL.
template <class F>
std::function<Result(Env&)> skip_unsupported(F f) {
    return [f](Env& e) -> Result {
        try {
            return f(e);
        } catch (const core::Error& err) {
            const std::string msg = err.what();
            if (err.kind() == core::ErrorKind::PLUGIN && msg.find("cannot run node") != std::string::npos)
                return Result::skip(msg);
            throw;
        }
    };
}

// A model case: the model's path (SKIP when it is SmolLM2 and absent), then the check.
template <class F>
Result on_model(Env& env, const ModelRef& m, F check) {
    const std::string path = model_path(env, m);
    if (path.empty()) return Result::skip("SmolLM2 model not found (scripts/fetch-models.sh or APRHOST_SMOLLM2)");
    return check(path);
}

}  // namespace

Result check_kv_invariant(Env& env, const std::string& model_path, const std::string& kv, uint32_t n_tokens) {
    return skip_unsupported([&](Env& e) { return kv_invariant(e, model_path, kv, n_tokens); })(env);
}

Result check_cross_backend(Env& env, const std::string& model_path) {
    return skip_unsupported([&](Env& e) { return cross_backend(e, model_path); })(env);
}

std::vector<Case> model_cases(const Env& env) {
    std::vector<Case> out;
    const std::vector<std::string> kvs = env.kv_plugins();
    for (const ModelRef& m : {kTinyQwen, kTinyLlama})
        for (const std::string& kv : kvs)
            out.push_back({"model/kv_invariant", fmt::format("model={},kv={},n=128", m.label, kv),
                           [m, kv](Env& e) {
                               return on_model(e, m, [&](const std::string& p) { return check_kv_invariant(e, p, kv, 128); });
                           }});
    const std::string first_kv = kvs.empty() ? "contiguous" : kvs.front();
    out.push_back({"model/kv_invariant", fmt::format("model=smollm2,kv={},n={}", first_kv, env.smollm2_positions),
                   [first_kv](Env& e) {
                       return on_model(e, kSmol, [&](const std::string& p) {
                           return check_kv_invariant(e, p, first_kv, e.smollm2_positions);
                       });
                   }});
    for (const std::string& kv : kvs)
        if (kv != "contiguous")
            out.push_back({"model/kv_vs_contiguous", fmt::format("model={},kv={},ctx=32,tokens=48", kTinyQwen.label, kv),
                           skip_unsupported([kv](Env& e) { return kv_parity(e, kTinyQwen, kv); })});
    if (kvs.size() == 1 && kvs.front() == "contiguous")
        out.push_back({"model/kv_vs_contiguous", "kv=contiguous", [](Env&) { return Result::skip("only kv_contiguous under test: it is the oracle"); }});
    for (const ModelRef& m : {kTinyQwen, kTinyLlama, kSmol})
        out.push_back({"model/cross_backend", "model=" + m.label, [m](Env& e) {
                           return on_model(e, m, [&](const std::string& p) { return check_cross_backend(e, p); });
                       }});
    for (const ModelRef& m : {kTinyQwen, kSmol})
        out.push_back({"model/decode_cost", "model=" + m.label + ",ctx=10..100", skip_unsupported([m](Env& e) { return decode_cost(e, m); })});
    return out;
}

}  // namespace aprhost::conformance
