// The runtime's side of the op families: what the Vulkan backend accepts (node_unsupported: generic tensor rules
// for every op, then the op family's own rules, incl. the quantised kernels' mul_mat/get_rows_unsupported) and the
// recorders of the ops this part of the plugin implements (the quantised ones are in vk_kernel_api.hpp).
// Helpers shared by the op files: tensor windows in element units, dispatch splitting.
#pragma once

#include "vk_kernel_api.hpp"

#include <aprhost/abi.h>

#include <cstdint>
#include <string>

namespace aprhost::vk {

// "" when node `index` can run on a device with these caps, else a one-line reason.
std::string node_unsupported(const DeviceCaps& caps, const aph_graph& g, uint32_t index);
// "" when tensor t (its whole strided extent) lies inside a buffer of buffer_size bytes, else why not.
std::string tensor_out_of_bounds(const aph_tensor& t, uint64_t buffer_size, const char* role);
// Bytes from t.offset to one past t's last byte (row bytes + Σ (ne[i] − 1)·nb[i]); 0 for an empty tensor.
uint64_t tensor_span(const aph_tensor& t);
// Bytes of n elements of dtype (also I32); 0 for unknown dtypes or partial blocks.
uint64_t dtype_bytes(uint32_t dtype, int64_t n);
std::string dtype_name(uint32_t dtype);

// A tensor bound whole, addressed in units of `unit` bytes from the binding start.
struct TensorWindow {
    Binding binding;
    uint32_t off = 0;       // first element of the tensor
    uint32_t s1 = 0, s2 = 0, s3 = 0;  // strides of dims 1..3 (0 where ne[i] == 1, so broadcasting is free)
};
TensorWindow bind_tensor(Recorder& r, const aph_tensor& t, uint32_t unit);

// Groups for `rows` rows: (y, z) with y ≤ the device's y limit; the shader's row = wg.y + wg.z · num_groups.y.
void split_rows(const DeviceCaps& caps, uint64_t rows, uint32_t& gy, uint32_t& gz);

void record_rms_norm(Recorder& r, const aph_graph& g, const aph_node& n);
void record_elementwise(Recorder& r, const aph_graph& g, const aph_node& n);  // ADD, SWIGLU, GEGLU, SCALE
void record_copy(Recorder& r, const aph_graph& g, const aph_node& n);
void record_rope(Recorder& r, const aph_graph& g, const aph_node& n);
void record_kv_store(Recorder& r, const aph_graph& g, const aph_node& n);
void record_attention(Recorder& r, const aph_graph& g, const aph_node& n);

// Largest head_dim the attention kernel handles.
inline constexpr int64_t kAttentionMaxHeadDim = 256;

}  // namespace aprhost::vk
