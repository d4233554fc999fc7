// `aprhost membw`: this machine's memory read bandwidth, the denominator of every decode-ceiling claim.
#include "commands.hpp"

#include <aprhost/core/membw.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <thread>

namespace aprhost::cli {

Runner add_membw_command(CLI::App& app, const GlobalOptions& g) {
    auto* cmd = app.add_subcommand("membw", "Measure memory read bandwidth (the ceiling of memory-bound decode)");
    struct Opts {
        int mib = 1024, reps = 10;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--mib", o->mib, "Buffer size in MiB")->capture_default_str()->check(CLI::Range(16, 1 << 16));
    cmd->add_option("--repetitions", o->reps, "Measured repetitions")->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_flag("--json", o->json, "Print one JSON record");
    return [&g, o]() {
        int threads = g.threads > 0 ? g.threads : int(std::max(1u, std::thread::hardware_concurrency()));
        auto r = core::measure_read_bandwidth(threads, uint64_t(o->mib) << 20, o->reps);
        if (o->json) {
            nlohmann::json j = {{"threads", r.threads},       {"bytes", r.bytes},
                                {"best_gb_s", r.best_gb_s},   {"median_gb_s", r.median_gb_s},
                                {"samples_gb_s", r.samples_gb_s}};
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print("memory read bandwidth, {} threads, {} MiB × {}: best {:.2f} GB/s, median {:.2f} GB/s\n",
                       r.threads, o->mib, o->reps, r.best_gb_s, r.median_gb_s);
        }
        return 0;
    };
}

}  // namespace aprhost::cli
