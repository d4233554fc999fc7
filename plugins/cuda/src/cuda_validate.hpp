// What the CUDA backend accepts (aph_backend_vtable::supports) and the per-node checks before anything is queued:
// the ABI's op × dtype × shape rules (aprhost/graph_rules.hpp) plus the device's own limits, the contract's
// mul_mat_unsupported / get_rows_unsupported for MUL_MAT and GET_ROWS, and buffer bounds. Layout rule for every
// tensor (kTensorLayout): rows are contiguous (nb[0] = element or block size), nb[1..3] free, offsets and strides
// aligned to the element size.
#pragma once

#include "cuda_buffer.hpp"
#include "cuda_kernel_api.hpp"

#include <aprhost/abi.h>

#include <string>

namespace aprhost::cuda {

// "" when node `index` of g can run on this device, else one line saying why.
std::string node_unsupported_reason(const DeviceCaps& caps, const aph_graph& g, uint32_t index);

// Throws sdk::Error(INVALID_ARGUMENT) when a tensor of the node is not inside a live buffer of `buffers`.
void check_node_bounds(const BufferTable& buffers, const aph_graph& g, const aph_node& n);

}  // namespace aprhost::cuda
