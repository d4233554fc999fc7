#include "cbtop_driver.hpp"

#include <aprhost/core/error.hpp>
#include <aprhost/core/host_info.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace aprhost::cli::cbtop {

// One backend's generation: its own model, cache, sampler and metrics.
struct Driver::Lane {
    std::shared_ptr<core::BackendContext> backend;
    std::unique_ptr<core::Model> model;
    std::unique_ptr<core::Session> session;
    std::unique_ptr<core::Sampler> sampler;
    std::vector<int32_t> prompt, history;
    int32_t next = 0;          // the token to feed at the next decode step
    uint32_t generated = 0;    // tokens generated for the current prompt
    bool need_prefill = true;
    bool failed = false;
    ProfileSchedule schedule{0};
    double last_memory_s = -1;
    std::unique_ptr<BackendMetrics> metrics;  // guarded by Driver::mu_
};

namespace {

std::vector<int32_t> encode_prompt(const core::Model& model, const DriverOptions& o) {
    const core::Tokenizer& tok = model.tokenizer();
    std::vector<int32_t> ids;
    if (o.chat) {
        const auto& tmpl = model.chat_template();
        std::vector<core::ChatMessage> msgs;
        if (!tmpl.default_system.empty()) msgs.push_back({"system", tmpl.default_system});
        msgs.push_back({"user", o.prompt});
        // When the template writes BOS itself, do not add a second one.
        ids = tok.encode(tmpl.apply(msgs, true), tok.add_bos_default() && tmpl.bos_text.empty(), true);
    } else {
        ids = tok.encode(o.prompt, tok.add_bos_default(), false);
    }
    if (ids.empty()) throw core::Error(core::ErrorKind::USAGE, "the prompt encodes to no tokens");
    return ids;
}

}  // namespace

Driver::Driver(const AppContext& ctx, const GlobalOptions& g, const DriverOptions& o,
               const std::vector<std::string>& backends)
    : o_(o) {
    std::vector<std::string> names = backends.empty() ? std::vector<std::string>{g.backend} : backends;
    for (size_t i = 0; i < names.size(); ++i) {
        std::shared_ptr<core::BackendContext> backend;
        if (backends.empty()) {
            backend = ctx.create_backend();  // --backend with its --backend-opt and --threads
        } else {
            // Availability: found, accepted, able to create a context (as `compare` decides it). The first backend
            // is the one the user cares about most: its error is the command's error.
            try {
                auto plugin = ctx.registry().get(APH_PLUGIN_BACKEND, names[i]);
                std::map<std::string, std::string> opts;
                if (g.threads > 0 && plugin->name == "cpu") opts["threads"] = std::to_string(g.threads);
                backend = core::BackendContext::create(plugin, opts);
            } catch (const core::Error& e) {
                if (i == 0) throw;
                rows_.push_back({-1, unavailable_snapshot(names[i], e.what())});
                continue;
            }
        }
        auto lane = std::make_unique<Lane>();
        lane->backend = backend;
        lane->model = std::make_unique<core::Model>(ctx.registry(), o.model_path, backend, ctx.format_options());
        lane->prompt = encode_prompt(*lane->model, o);
        core::SessionOptions so;
        so.n_ctx = uint32_t(lane->prompt.size()) + o.n_predict + 1;
        if (lane->model->hparams().n_ctx_train > 0 && so.n_ctx > uint32_t(lane->model->hparams().n_ctx_train))
            throw core::Error(core::ErrorKind::USAGE,
                              fmt::format("prompt ({} tokens) + -n {} exceed the model's context of {}",
                                          lane->prompt.size(), o.n_predict, lane->model->hparams().n_ctx_train));
        so.n_batch = uint32_t(o.ctx_batch);
        so.kv_options = ctx.kv_options();
        lane->session = std::make_unique<core::Session>(*lane->model, ctx.kv_plugin(), so);
        lane->sampler = std::make_unique<core::Sampler>(o.sampler);
        const bool can_profile = backend->can_profile();
        lane->schedule = ProfileSchedule(can_profile ? o.metrics.profile_interval_s : 0.0);
        MetricsConfig mc = o.metrics;
        if (!can_profile) mc.profile_interval_s = 0;
        lane->metrics = std::make_unique<BackendMetrics>(backend->plugin().display_name(), backend->device().name,
                                                         can_profile, mc);
        lane->metrics->on_memory(sample_memory(*lane));
        rows_.push_back({int(lanes_.size()), {}});
        lanes_.push_back(std::move(lane));
    }
}

Driver::~Driver() { stop(); }

void Driver::start() {
    t0_ = std::chrono::steady_clock::now();
    worker_ = std::thread([this] { run(); });
}

void Driver::stop() {
    stop_ = true;
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void Driver::set_paused(bool paused) {
    paused_ = paused;
    cv_.notify_all();
}

double Driver::now_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

bool Driver::any_running() const {
    std::lock_guard lock(mu_);
    return std::any_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return !l->failed; });
}

std::vector<std::string> Driver::describe() const {
    std::vector<std::string> out;
    for (const auto& l : lanes_)
        out.push_back(fmt::format("{} on {}, kv {}, prompt {} tokens, -n {}; {}", l->backend->plugin().display_name(),
                                  l->backend->device().name, l->session->kv().plugin().display_name(),
                                  l->prompt.size(), o_.n_predict,
                                  !l->backend->can_profile() ? "no per-node profile (backend has no graph_profile)"
                                  : l->schedule.interval_s() > 0
                                      ? fmt::format("per-node profile of 1 decode step every {:g} s", l->schedule.interval_s())
                                      : std::string("per-node profile off")));
    return out;
}

MemorySample Driver::sample_memory(const Lane& lane) const {
    MemorySample m;
    m.valid = true;
    const auto bs = lane.backend->stats();
    m.device_bytes = bs.bytes_allocated;
    m.device_total = lane.backend->device().memory_total;
    m.device_weight_bytes = lane.model->device_weight_bytes();
    const auto& kv = lane.session->kv();
    const auto ks = kv.stats();
    m.kv_plugin = kv.plugin().display_name();
    m.kv_bytes = kv.bytes();
    m.kv_slots_total = ks.slots_total, m.kv_slots_used = ks.slots_used;
    m.kv_blocks_total = ks.blocks_total, m.kv_blocks_used = ks.blocks_used;
    m.kv_evictions = ks.evictions;
    return m;
}

Frame Driver::frame(uint64_t seq) const {
    Frame f;
    f.seq = seq;
    f.paused = paused_;
    f.model = o_.model_path;
    f.rss_bytes = core::current_rss_bytes();
    f.peak_rss_bytes = core::peak_rss_bytes();
    std::lock_guard lock(mu_);
    f.t_s = now_s();
    for (const auto& r : rows_)
        f.backends.push_back(r.lane >= 0 ? lanes_[size_t(r.lane)]->metrics->snapshot(f.t_s) : r.unavailable);
    return f;
}

void Driver::run() {
    while (!stop_) {
        if (paused_) {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_ || !paused_; });
            continue;
        }
        bool stepped = false;
        for (auto& lane : lanes_) {
            if (stop_ || paused_) break;
            if (lane->failed) continue;
            try {
                step(*lane);
            } catch (const std::exception& e) {
                std::lock_guard lock(mu_);
                lane->failed = true;
                lane->metrics->on_failure(e.what());
            }
            stepped = true;
        }
        if (!stepped) {  // every backend failed: idle until stopped
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return bool(stop_); });
        }
    }
}

void Driver::step(Lane& l) {
    using Clock = std::chrono::steady_clock;
    auto secs = [this](Clock::time_point t) { return std::chrono::duration<double>(t - t0_).count(); };
    auto& session = *l.session;
    const auto& tok = l.model->tokenizer();
    if (l.need_prefill) {
        const auto t0 = Clock::now();
        session.reset();
        const uint64_t cached0 = session.prefix_cached_tokens();
        const auto& logits = session.forward(l.prompt);
        const auto cached = uint32_t(session.prefix_cached_tokens() - cached0);
        const int32_t id = l.sampler->sample(logits, l.prompt);
        const auto t1 = Clock::now();
        {
            std::lock_guard lock(mu_);
            l.metrics->on_prefill(secs(t1), std::chrono::duration<double>(t1 - t0).count(), uint32_t(l.prompt.size()),
                                  cached);
        }
        l.history = l.prompt;
        l.history.push_back(id);
        l.next = id;
        l.generated = 1;
        l.need_prefill = l.generated >= o_.n_predict || (!o_.ignore_eos && tok.is_end_of_generation(id));
    } else {
        const bool profile = l.schedule.due(secs(Clock::now()));
        const auto t0 = Clock::now();
        session.set_profiling(profile);
        const auto& logits = session.forward(std::span<const int32_t>(&l.next, 1));
        session.set_profiling(false);
        const int32_t id = l.sampler->sample(logits, l.history);
        const auto t1 = Clock::now();
        {
            std::lock_guard lock(mu_);
            l.metrics->on_decode(secs(t1), std::chrono::duration<double>(t1 - t0).count(), profile);
            if (profile && !session.profiles().empty()) l.metrics->on_profile(session.profiles().back());
        }
        if (profile) {
            session.clear_profiles();
            l.schedule.mark(secs(t1));
        }
        l.history.push_back(id);
        l.next = id;
        ++l.generated;
        l.need_prefill = l.generated >= o_.n_predict || (!o_.ignore_eos && tok.is_end_of_generation(id));
    }
    // Device and cache statistics a few times a second (the stats calls must not overlap a compute).
    const double now = secs(Clock::now());
    if (l.last_memory_s < 0 || now - l.last_memory_s >= 0.2) {
        auto m = sample_memory(l);
        std::lock_guard lock(mu_);
        l.metrics->on_memory(m);
        l.last_memory_s = now;
    }
}

}  // namespace aprhost::cli::cbtop
