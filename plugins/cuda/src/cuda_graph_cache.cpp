// See cuda_graph_cache.hpp.
#include "cuda_graph_cache.hpp"

namespace aprhost::cuda {

GraphCache::Lookup GraphCache::lookup(const GraphKey& key) {
    ++clock_;
    for (size_t i = 0; i < entries_.size(); ++i) {
        Entry& e = entries_[i];
        if (!(e.key == key)) continue;
        e.last_use = clock_;
        if (e.exec) {
            ++replays_;
            return {Action::REPLAY, e.exec, i};
        }
        return {Action::CAPTURE, nullptr, i};
    }
    if (entries_.size() >= capacity_) {
        size_t lru = 0;
        for (size_t i = 1; i < entries_.size(); ++i)
            if (entries_[i].last_use < entries_[lru].last_use) lru = i;
        // Destroying an exec that is still running is allowed: CUDA defers the release until it completes.
        if (entries_[lru].exec) (void)cudaGraphExecDestroy(entries_[lru].exec);
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(lru));
    }
    entries_.push_back(Entry{key, nullptr, clock_});
    return {Action::EAGER, nullptr, entries_.size() - 1};
}

void GraphCache::store(size_t entry, cudaGraphExec_t exec) {
    if (entry >= entries_.size()) {
        (void)cudaGraphExecDestroy(exec);
        return;
    }
    if (entries_[entry].exec) (void)cudaGraphExecDestroy(entries_[entry].exec);
    entries_[entry].exec = exec;
    ++captures_;
}

void GraphCache::clear() {
    for (Entry& e : entries_)
        if (e.exec) (void)cudaGraphExecDestroy(e.exec);
    entries_.clear();
}

}  // namespace aprhost::cuda
