// Host-memory buffers of the CPU backend and small helpers to address aph_tensor views inside them.
// A CpuBuffer is what an aph_buffer_t of this backend points to; `owned` buffers were allocated by the context
// (64-byte aligned), imported ones wrap caller memory (e.g. the mmap'ed weight file) without copying.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/reference/dequant.hpp>

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

// Number of rows (ne[1]·ne[2]·ne[3]).
inline int64_t tensor_rows(const aph_tensor& t) { return t.ne[1] * t.ne[2] * t.ne[3]; }

// Row r of the flattened rows of t (r = i1 + ne1·(i2 + ne2·i3)).
inline uint8_t* tensor_flat_row(const aph_tensor& t, int64_t r) {
    const int64_t i1 = r % t.ne[1];
    const int64_t i2 = (r / t.ne[1]) % t.ne[2];
    const int64_t i3 = r / (t.ne[1] * t.ne[2]);
    return tensor_row(t, i1, i2, i3);
}

inline bool same_shape(const aph_tensor& a, const aph_tensor& b) {
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (a.ne[i] != b.ne[i]) return false;
    return true;
}

inline int64_t tensor_elements(const aph_tensor& t) { return t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]; }

// Elements per block / bytes of n elements, for every dtype the backend handles (the reference helpers do not
// know I32, which only index tensors use). 0 = unknown dtype or n not a whole number of blocks.
inline int64_t dtype_block_elems(uint32_t dtype) {
    return dtype == APH_DTYPE_I32 ? 1 : static_cast<int64_t>(aprhost::ref::block_elems(dtype));
}
inline uint64_t dtype_row_bytes(uint32_t dtype, int64_t n) {
    return dtype == APH_DTYPE_I32 ? static_cast<uint64_t>(n) * 4 : aprhost::ref::row_bytes(dtype, n);
}

}  // namespace aprhost::cpu
