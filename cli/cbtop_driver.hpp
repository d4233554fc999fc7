// The generation driver of `aprhost cbtop`: loads the model on each requested backend and generates on a worker
// thread, continuously (the prompt restarts when -n tokens are done or the model ends its answer), feeding each
// backend's BackendMetrics. Several backends take turns one step at a time, so they never compete for the cores.
// The view thread asks for a Frame at any moment; the metrics sit behind one mutex, held only to record an event
// or to take a snapshot.
#pragma once

#include "app_context.hpp"
#include "cbtop_metrics.hpp"

#include <aprhost/core/model.hpp>
#include <aprhost/core/sampler.hpp>
#include <aprhost/core/session.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aprhost::cli::cbtop {

struct DriverOptions {
    std::string model_path;
    std::string prompt;
    bool chat = false;
    uint32_t n_predict = 128;
    bool ignore_eos = false;
    int ctx_batch = 512;
    core::SamplerParams sampler;
    MetricsConfig metrics;
};

class Driver {
public:
    // Loads the model on every backend of `backends` (display or plugin names; empty: the --backend of g). A
    // backend that cannot be found or whose context cannot be created becomes an "unavailable" row; the first
    // backend must be usable (its error propagates).
    Driver(const AppContext& ctx, const GlobalOptions& g, const DriverOptions& o, const std::vector<std::string>& backends);
    ~Driver();
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    void start();  // starts the worker thread and the clock (t = 0)
    void stop();   // asks the worker to finish its current step and joins it
    void set_paused(bool paused);
    bool paused() const { return paused_; }
    // False when every backend has failed (nothing is generating any more).
    bool any_running() const;
    // The state now; t_s and the rates are taken at the same instant.
    Frame frame(uint64_t seq) const;
    double now_s() const;
    size_t backend_count() const { return rows_.size(); }
    // One line per backend: "cpu-avx2 on AMD EPYC (2 threads), kv contiguous, prompt 12 tokens, -n 128; per-node
    // profile of 1 decode step every 1 s".
    std::vector<std::string> describe() const;

private:
    struct Lane;
    void run();
    void step(Lane& lane);
    MemorySample sample_memory(const Lane& lane) const;

    DriverOptions o_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    // Rows in --backends order: an index into lanes_ or an unavailable backend.
    struct Row {
        int lane = -1;
        BackendSnapshot unavailable;
    };
    std::vector<Row> rows_;

    std::chrono::steady_clock::time_point t0_;
    std::thread worker_;
    std::atomic<bool> stop_{false}, paused_{false};
    mutable std::mutex mu_;  // guards every Lane::metrics
    std::condition_variable cv_;
};

}  // namespace aprhost::cli::cbtop
