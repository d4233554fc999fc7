// Host-memory buffers of the CPU backend and small helpers to address aph_tensor views inside them.
// A CpuBuffer is what an aph_buffer_t of this backend points to; `owned` buffers were allocated by the context
// (64-byte aligned), imported ones wrap caller memory (e.g. the mmap'ed weight file) without copying.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/graph_rules.hpp>

#include <cstdint>

namespace aprhost::cpu {

struct CpuBuffer {
    uint8_t* data = nullptr;
    uint64_t size = 0;
    bool owned = false;
};

inline CpuBuffer* as_cpu_buffer(aph_buffer_t b) { return reinterpret_cast<CpuBuffer*>(b); }
inline aph_buffer_t as_handle(CpuBuffer* b) { return reinterpret_cast<aph_buffer_t>(b); }

// Address of element 0 of t.
inline uint8_t* tensor_base(const aph_tensor& t) { return as_cpu_buffer(t.buffer)->data + t.offset; }

// Address of row (i1, i2, i3) of t.
inline uint8_t* tensor_row(const aph_tensor& t, int64_t i1, int64_t i2 = 0, int64_t i3 = 0) {
    return tensor_base(t) + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
}

// Row r of the flattened rows of t (r = i1 + ne1·(i2 + ne2·i3)).
inline uint8_t* tensor_flat_row(const aph_tensor& t, int64_t r) {
    const int64_t i1 = r % t.ne[1];
    const int64_t i2 = (r / t.ne[1]) % t.ne[2];
    const int64_t i3 = r / (t.ne[1] * t.ne[2]);
    return tensor_row(t, i1, i2, i3);
}

// Shape and size helpers shared with every backend (aprhost/graph_rules.hpp): same_shape, tensor_elements,
// tensor_rows (ne[1]·ne[2]·ne[3]), dtype_block_elems (elements per block, 1 for i32) and dtype_row_bytes (bytes
// of n elements; 0 = unknown dtype or n not a whole number of blocks).
using sdk::dtype_block_elems;
using sdk::dtype_row_bytes;
using sdk::same_shape;
using sdk::tensor_elements;
using sdk::tensor_rows;

}  // namespace aprhost::cpu
