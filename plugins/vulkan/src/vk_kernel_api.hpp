// The contract between the Vulkan runtime (instance, device, memory, command recording: vk_runtime / vk_backend)
// and the op kernels (one .cpp per op family + its GLSL in plugins/vulkan/shaders). The runtime turns an aph_graph
// into one command buffer; for every node it calls the op family's `record_*` with a Recorder that hands out
// bindings and records dispatches. Kernels never touch VkDevice, memory or pipelines directly: pipelines are
// created and cached by the runtime per (shader, specialization constants).
#pragma once

#include <aprhost/abi.h>

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace aprhost::vk {

// SPIR-V compiled from plugins/vulkan/shaders/<name>.comp at build time and embedded in the plugin.
struct ShaderBlob {
    const char* name;  // the file stem, e.g. "mul_mat_vec_q4_0"
    const uint32_t* words;
    size_t n_words;
};

// Looks a shader up by file stem; throws std::runtime_error naming it when it was not built in.
const ShaderBlob& shader(std::string_view name);

// What the selected device offers. The runtime rejects devices without storageBuffer8BitAccess and
// storageBuffer16BitAccess (every target device has them), so shaders may always use 8/16-bit storage types.
struct DeviceCaps {
    uint32_t subgroup_size = 1;
    bool subgroup_arithmetic = false;  // subgroupAdd etc. usable in compute shaders
    bool shader_float16 = false;       // float16_t arithmetic (storage is always available)
    bool shader_int8 = false;          // int8_t arithmetic
    bool integer_dot_product = false;  // VK_KHR_shader_integer_dot_product
    uint64_t max_storage_buffer_range = 0;  // bytes one binding may span (128 MiB on lavapipe)
    uint64_t min_storage_buffer_offset_alignment = 1;
    uint32_t max_shared_memory = 0;         // bytes per workgroup
    uint32_t max_workgroup_invocations = 0;
    uint32_t max_workgroup_count[3] = {0, 0, 0};
    uint32_t max_push_constants = 128;
    bool shader_float64 = false;            // double arithmetic (ROPE forms its angles in double when present)
};

// One storage-buffer binding: a window of a VkBuffer. `offset` is aligned to min_storage_buffer_offset_alignment.
struct Binding {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceSize offset = 0;
    VkDeviceSize range = 0;
};

class Recorder {
public:
    virtual ~Recorder() = default;
    virtual const DeviceCaps& caps() const = 0;

    // A binding covering bytes [t.offset + byte_offset, t.offset + byte_offset + bytes) of tensor t's buffer.
    // Because bindings must start aligned, the window may start earlier: *shift_bytes receives the distance from
    // the binding's start to the requested first byte (0 <= shift < alignment); pass it to the shader (push
    // constants) and index from there. bytes + *shift_bytes never exceeds caps().max_storage_buffer_range:
    // the runtime throws if the request cannot fit one binding (kernels split big tensors, e.g. by rows).
    virtual Binding bind(const aph_tensor& t, uint64_t byte_offset, uint64_t bytes, uint32_t* shift_bytes) = 0;

    // Device scratch memory private to the current node (e.g. activations quantised to 8 bit), valid until
    // the graph has finished. Aligned to min_storage_buffer_offset_alignment; contents undefined.
    virtual Binding scratch(uint64_t bytes) = 0;

    // Read-only data written by the host now, for the current node (e.g. ROPE's table of rotary frequencies,
    // computed in double on the host), valid until the graph has finished; aligned like scratch().
    // (Appended by the runtime; not pure, so a Recorder written against the first version still compiles.)
    virtual Binding constants(const void* data, uint64_t bytes) {
        (void)data;
        (void)bytes;
        throw std::runtime_error("Recorder::constants is not implemented by this recorder");
    }

    // Records one dispatch: bindings[i] is set 0, binding i (storage buffer); spec[i] is the uint32
    // specialization constant with constant_id i; push is at most caps().max_push_constants bytes.
    virtual void dispatch(const ShaderBlob& shader, std::span<const uint32_t> spec, std::span<const Binding> bindings,
                          const void* push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y,
                          uint32_t groups_z) = 0;

    // A compute→compute memory barrier. The runtime puts one between nodes; a kernel calls this only between two
    // of its own dispatches of one node where the second reads what the first wrote.
    virtual void barrier() = 0;
};

// Op families. `*_unsupported` returns "" when the node can run on this device, otherwise a one-line reason
// (aph_backend_vtable::supports). `record_*` records the node; throws std::runtime_error on an internal error.
// Owned by the quantised-data kernels (mul_mat / get_rows, every weight dtype of the CPU backend):
std::string mul_mat_unsupported(const DeviceCaps& caps, const aph_graph& g, const aph_node& n);
void record_mul_mat(Recorder& r, const aph_graph& g, const aph_node& n);
std::string get_rows_unsupported(const DeviceCaps& caps, const aph_graph& g, const aph_node& n);
void record_get_rows(Recorder& r, const aph_graph& g, const aph_node& n);

}  // namespace aprhost::vk
