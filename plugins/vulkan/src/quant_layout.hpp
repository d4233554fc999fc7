// Layout facts and checks shared by the quantised-data kernels (op_mul_mat.cpp, op_get_rows.cpp): which weight
// dtypes have shaders and under what file-stem suffix, what layouts those shaders can index, and how to cut a
// tensor that is larger than one storage-buffer binding into windows. Header-only; no state.
#pragma once

#include "vk_kernel_api.hpp"

#include <aprhost/graph_rules.hpp>
#include <aprhost/reference/dequant.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

namespace aprhost::vk::quant {

// Shader file-stem suffix of a weight dtype ("q4_k"), nullptr when no kernel handles it.
inline const char* dtype_suffix(uint32_t dtype) {
    switch (dtype) {
        case APH_DTYPE_F32: return "f32";
        case APH_DTYPE_F16: return "f16";
        case APH_DTYPE_BF16: return "bf16";
        case APH_DTYPE_Q4_0: return "q4_0";
        case APH_DTYPE_Q4_1: return "q4_1";
        case APH_DTYPE_Q5_0: return "q5_0";
        case APH_DTYPE_Q5_1: return "q5_1";
        case APH_DTYPE_Q8_0: return "q8_0";
        case APH_DTYPE_Q4_K: return "q4_k";
        case APH_DTYPE_Q5_K: return "q5_k";
        case APH_DTYPE_Q6_K: return "q6_k";
        case APH_DTYPE_APR_Q4: return "apr_q4";
        case APH_DTYPE_APR_Q8: return "apr_q8";
        default: return nullptr;
    }
}

// The shaders index weights in storage units: floats for F32, 16-bit words for everything else (every block of
// every dtype is a whole number of 16-bit words).
inline uint64_t storage_unit(uint32_t dtype) { return dtype == APH_DTYPE_F32 ? 4 : 2; }

// "" when t is a 2-D weight/table tensor the shaders can read: whole blocks per row, contiguous rows, offset and
// row stride in whole storage units.
inline std::string check_weights(const aph_tensor& t, const char* role) {
    if (!dtype_suffix(t.dtype)) return std::string(role) + " dtype " + sdk::dtype_str(t.dtype) + " is not supported";
    if (t.ne[2] != 1 || t.ne[3] != 1) return std::string(role) + " must be 2-D";
    if (t.ne[0] <= 0 || t.ne[1] < 0) return std::string(role) + " has an empty or negative row length";
    const int64_t be = static_cast<int64_t>(ref::block_elems(t.dtype));
    if (t.ne[0] % be != 0)
        return std::string(role) + " row of " + std::to_string(t.ne[0]) + " is not a whole number of blocks of " +
               std::to_string(be);
    if (t.nb[0] != static_cast<int64_t>(ref::block_bytes(t.dtype)))
        return std::string(role) + " rows are not contiguous";
    const uint64_t u = storage_unit(t.dtype);
    if (t.offset % u != 0 || t.nb[1] < 0 || static_cast<uint64_t>(t.nb[1]) % u != 0)
        return std::string(role) + " offset/row stride are not multiples of " + std::to_string(u) + " bytes";
    if (t.ne[1] > 1 && static_cast<uint64_t>(t.nb[1]) < ref::row_bytes(t.dtype, t.ne[0]))
        return std::string(role) + " rows overlap";
    if (!t.buffer) return std::string(role) + " has no buffer";
    return "";
}

// Columns of an f32 (or i32) tensor [ne0, ne1, ne2, ne3] seen as ne1·ne2·ne3 columns spaced nb[1] apart; "" when it
// has that shape (dims 2 and 3 collapse onto dim 1) and 4-byte aligned strides.
inline std::string check_columns(const aph_tensor& t, uint32_t dtype, const char* role) {
    if (t.dtype != dtype) return std::string(role) + " must be " + sdk::dtype_str(dtype) + ", got " + sdk::dtype_str(t.dtype);
    for (int i = 0; i < APH_MAX_DIMS; ++i)
        if (t.ne[i] < 0 || t.nb[i] < 0) return std::string(role) + " has a negative extent or stride";
    if (t.nb[0] != 4) return std::string(role) + " rows are not contiguous";
    if (t.offset % 4 != 0 || t.nb[1] % 4 != 0)
        return std::string(role) + " offset/strides are not multiples of 4 bytes";
    if ((t.ne[2] > 1 && t.nb[2] != t.nb[1] * t.ne[1]) || (t.ne[3] > 1 && t.nb[3] != t.nb[2] * t.ne[2]))
        return std::string(role) + " dims 2 and 3 do not continue dim 1 (strided 3-D/4-D views are not supported)";
    if (t.ne[1] * t.ne[2] * t.ne[3] > 1 && t.nb[1] < 4 * t.ne[0]) return std::string(role) + " columns overlap";
    if (!t.buffer) return std::string(role) + " has no buffer";
    return "";
}

inline uint64_t columns(const aph_tensor& t) { return static_cast<uint64_t>(t.ne[1] * t.ne[2] * t.ne[3]); }

// Bytes one binding may cover so that bytes + the alignment shift fit maxStorageBufferRange; also kept below
// 2^32 so that every index the shaders form stays a uint32.
inline uint64_t binding_limit(const DeviceCaps& caps) {
    const uint64_t align = std::max<uint64_t>(caps.min_storage_buffer_offset_alignment, 1);
    const uint64_t range = std::min<uint64_t>(caps.max_storage_buffer_range, (uint64_t{1} << 32) - 4);
    return range > align ? range - (align - 1) : 0;
}

// Bytes spanned by `count` consecutive items `stride` apart whose last one is `item_bytes` long.
inline uint64_t span(uint64_t count, uint64_t stride, uint64_t item_bytes) {
    return count == 0 ? 0 : (count - 1) * stride + item_bytes;
}

// Most consecutive items (stride apart, item_bytes each) that fit in `limit` bytes; 0 when not even one does.
inline uint64_t fit(uint64_t limit, uint64_t stride, uint64_t item_bytes) {
    if (item_bytes > limit) return 0;
    if (stride == 0) return UINT64_MAX;
    return (limit - item_bytes) / stride + 1;
}

}  // namespace aprhost::vk::quant
