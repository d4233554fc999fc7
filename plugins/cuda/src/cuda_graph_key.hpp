// The structure of a step graph: everything a captured CUDA graph bakes in (ops, parameters, dtypes, shapes,
// strides, buffers and offsets of every operand), minus what may change from one decode step to the next without
// a recapture because the kernels read it from device memory: ATTENTION's n_kv (iparams[0], delivered through
// the step-params buffer) and the length of its block table (src3 ne[0] and the strides that follow from it; the kernel only reads the entries n_kv
// needs, and the table's address stays put). Two graphs with equal keys run the same launches. Pure host code.
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <vector>

namespace aprhost::cuda {

struct GraphKey {
    std::vector<uint64_t> words;
    uint64_t hash = 0;  // FNV-1a-style hash of words
    bool operator==(const GraphKey& o) const { return hash == o.hash && words == o.words; }
};

GraphKey graph_structure_key(const aph_graph& g);

// Indices of the graph's ATTENTION nodes in order; the i-th one reads its n_kv from step-params slot i.
std::vector<uint32_t> attention_nodes(const aph_graph& g);

}  // namespace aprhost::cuda
