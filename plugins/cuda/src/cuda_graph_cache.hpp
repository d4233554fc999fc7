// Captured CUDA graphs of recently seen step-graph structures (cuda_graph_key.hpp). Policy: the first graph of a
// structure runs eagerly; the second is captured (cudaStreamBeginCapture … EndCapture, instantiate) and launched;
// later ones replay the instantiated graph. So a decode loop is captured at its second step and replayed from the
// third on, while one-off graphs (a prompt's prefill) are never captured. Least recently used entries are dropped
// beyond `capacity`. Owns the cudaGraphExec_t objects. Not thread-safe (one per backend context).
#pragma once

#include "cuda_graph_key.hpp"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace aprhost::cuda {

class GraphCache {
public:
    explicit GraphCache(size_t capacity = 8) : capacity_(capacity) {}
    ~GraphCache() { clear(); }
    GraphCache(const GraphCache&) = delete;
    GraphCache& operator=(const GraphCache&) = delete;

    enum class Action { EAGER, CAPTURE, REPLAY };
    struct Lookup {
        Action action = Action::EAGER;
        cudaGraphExec_t exec = nullptr;  // REPLAY only
        size_t entry = 0;                // CAPTURE: pass to store()
    };
    // Records a sighting of `key` and says what to do with it.
    Lookup lookup(const GraphKey& key);
    // Keeps the graph captured for entry (from a CAPTURE lookup); the cache owns exec from now on.
    void store(size_t entry, cudaGraphExec_t exec);
    // Forget everything (a buffer was freed or the workspace moved: captured addresses may be stale).
    void clear();

    uint64_t captures() const { return captures_; }
    uint64_t replays() const { return replays_; }
    size_t size() const { return entries_.size(); }

private:
    struct Entry {
        GraphKey key;
        cudaGraphExec_t exec = nullptr;
        uint64_t last_use = 0;
    };
    size_t capacity_;
    std::vector<Entry> entries_;
    uint64_t clock_ = 0, captures_ = 0, replays_ = 0;
};

}  // namespace aprhost::cuda
