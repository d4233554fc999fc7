// Which adjacent nodes of a step graph run as one kernel launch. A decode step of a 28-layer model has ~300 small
// non-matmul nodes whose launch gaps add up (≈ 2 µs each even inside a CUDA graph); three pairs recur in every
// layer and are fused when it provably changes nothing:
//   ADD_RMS_NORM  ADD (residual) immediately followed by RMS_NORM of its result: one block per row computes the
//                 sum, writes it (the residual stream is still needed) and normalises it.
//   ROPE_PAIR     two ROPEs (q and k) with the same positions and parameters.
//   KV_STORE_PAIR two KV_STOREs (k and v) with the same slots.
// Conditions: the second node reads exactly the first's output view (ADD_RMS_NORM) or nothing the first writes,
// and no output overlaps an input of the other node. Pure host code (tests/cuda checks the plan).
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <vector>

namespace aprhost::cuda {

enum class LaunchKind { SINGLE, ADD_RMS_NORM, ROPE_PAIR, KV_STORE_PAIR };

struct PlannedLaunch {
    LaunchKind kind = LaunchKind::SINGLE;
    uint32_t first = 0;  // node index; fused launches cover first and first + 1
    uint32_t count() const { return kind == LaunchKind::SINGLE ? 1u : 2u; }
};

// The launches of g in order, covering every node exactly once. fuse = false gives one SINGLE per node.
std::vector<PlannedLaunch> plan_launches(const aph_graph& g, bool fuse);

}  // namespace aprhost::cuda
