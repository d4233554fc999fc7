// Pins the layout of the released ABI 1.0 structs and enum values. A failure here means a change would break
// plugins already built: append members instead of inserting, and never renumber enum values.
// Numbers are for x86-64 (LP64) System V; other targets check only what is portable.
#include <aprhost/abi.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

extern "C" size_t aph_c_sizeof(int which); // abi_c_check.c: the same structs as a C compiler lays them out

#if defined(__x86_64__) && defined(__LP64__)
namespace layout_x86_64 {
static_assert(sizeof(aph_plugin_desc) == 56);
static_assert(offsetof(aph_plugin_desc, abi_major) == 0);
static_assert(offsetof(aph_plugin_desc, abi_minor) == 4);
static_assert(offsetof(aph_plugin_desc, struct_size) == 8);
static_assert(offsetof(aph_plugin_desc, kind) == 12);
static_assert(offsetof(aph_plugin_desc, name) == 16);
static_assert(offsetof(aph_plugin_desc, variant) == 24);
static_assert(offsetof(aph_plugin_desc, version) == 32);
static_assert(offsetof(aph_plugin_desc, description) == 40);
static_assert(offsetof(aph_plugin_desc, vtable) == 48);
static_assert(sizeof(aph_backend_vtable) == 120);
static_assert(offsetof(aph_backend_vtable, struct_size) == 0);
static_assert(offsetof(aph_backend_vtable, create) == 8);
static_assert(offsetof(aph_backend_vtable, destroy) == 16);
static_assert(offsetof(aph_backend_vtable, device_info) == 24);
static_assert(offsetof(aph_backend_vtable, buffer_alloc) == 32);
static_assert(offsetof(aph_backend_vtable, buffer_free) == 40);
static_assert(offsetof(aph_backend_vtable, buffer_upload) == 48);
static_assert(offsetof(aph_backend_vtable, buffer_download) == 56);
static_assert(offsetof(aph_backend_vtable, buffer_map) == 64);
static_assert(offsetof(aph_backend_vtable, buffer_import_host) == 72);
static_assert(offsetof(aph_backend_vtable, supports) == 80);
static_assert(offsetof(aph_backend_vtable, graph_compute) == 88);
static_assert(offsetof(aph_backend_vtable, synchronize) == 96);
static_assert(offsetof(aph_backend_vtable, stats) == 104);
static_assert(offsetof(aph_backend_vtable, graph_profile) == 112);  // ABI 1.1
static_assert(sizeof(aph_format_vtable) == 72);
static_assert(offsetof(aph_format_vtable, struct_size) == 0);
static_assert(offsetof(aph_format_vtable, probe) == 8);
static_assert(offsetof(aph_format_vtable, open) == 16);
static_assert(offsetof(aph_format_vtable, close) == 24);
static_assert(offsetof(aph_format_vtable, metadata_count) == 32);
static_assert(offsetof(aph_format_vtable, metadata_get) == 40);
static_assert(offsetof(aph_format_vtable, tensor_count) == 48);
static_assert(offsetof(aph_format_vtable, tensor_get) == 56);
static_assert(offsetof(aph_format_vtable, describe) == 64);
static_assert(sizeof(aph_kv_vtable) == 88);
static_assert(offsetof(aph_kv_vtable, struct_size) == 0);
static_assert(offsetof(aph_kv_vtable, create) == 8);
static_assert(offsetof(aph_kv_vtable, destroy) == 16);
static_assert(offsetof(aph_kv_vtable, slot_count) == 24);
static_assert(offsetof(aph_kv_vtable, seq_append) == 32);
static_assert(offsetof(aph_kv_vtable, seq_block_table) == 40);
static_assert(offsetof(aph_kv_vtable, seq_fork) == 48);
static_assert(offsetof(aph_kv_vtable, seq_truncate) == 56);
static_assert(offsetof(aph_kv_vtable, seq_free) == 64);
static_assert(offsetof(aph_kv_vtable, stats) == 72);
static_assert(offsetof(aph_kv_vtable, seq_append_tokens) == 80);  // ABI 1.2
static_assert(sizeof(aph_tensor) == 88);
static_assert(offsetof(aph_tensor, dtype) == 0);
static_assert(offsetof(aph_tensor, n_dims) == 4);
static_assert(offsetof(aph_tensor, ne) == 8);
static_assert(offsetof(aph_tensor, nb) == 40);
static_assert(offsetof(aph_tensor, buffer) == 72);
static_assert(offsetof(aph_tensor, offset) == 80);
static_assert(sizeof(aph_node) == 104);
static_assert(offsetof(aph_node, op) == 0);
static_assert(offsetof(aph_node, src) == 4);
static_assert(offsetof(aph_node, dst) == 28);
static_assert(offsetof(aph_node, iparams) == 32);
static_assert(offsetof(aph_node, fparams) == 64);
static_assert(offsetof(aph_node, name) == 96);
static_assert(sizeof(aph_graph) == 32);
static_assert(offsetof(aph_graph, struct_size) == 0);
static_assert(offsetof(aph_graph, n_tensors) == 4);
static_assert(offsetof(aph_graph, tensors) == 8);
static_assert(offsetof(aph_graph, n_nodes) == 16);
static_assert(offsetof(aph_graph, nodes) == 24);
static_assert(sizeof(aph_error) == 512);
static_assert(sizeof(aph_host_services) == 32);
static_assert(offsetof(aph_host_services, struct_size) == 0);
static_assert(offsetof(aph_host_services, user) == 8);
static_assert(offsetof(aph_host_services, log) == 16);
static_assert(offsetof(aph_host_services, abort_flag) == 24);
static_assert(sizeof(aph_option) == 16);
static_assert(sizeof(aph_kv_config) == 32);
static_assert(offsetof(aph_kv_config, struct_size) == 0);
static_assert(offsetof(aph_kv_config, n_layers) == 4);
static_assert(offsetof(aph_kv_config, n_kv_heads) == 8);
static_assert(offsetof(aph_kv_config, head_dim) == 12);
static_assert(offsetof(aph_kv_config, dtype) == 16);
static_assert(offsetof(aph_kv_config, capacity) == 20);
static_assert(offsetof(aph_kv_config, block_size) == 24);
static_assert(offsetof(aph_kv_config, max_sequences) == 28);
static_assert(sizeof(aph_kv_stats) == 48);
static_assert(offsetof(aph_kv_stats, struct_size) == 0);
static_assert(offsetof(aph_kv_stats, slots_total) == 8);
static_assert(offsetof(aph_kv_stats, slots_used) == 16);
static_assert(offsetof(aph_kv_stats, blocks_total) == 24);
static_assert(offsetof(aph_kv_stats, blocks_used) == 32);
static_assert(offsetof(aph_kv_stats, evictions) == 40);
static_assert(sizeof(aph_device_info) == 416);
static_assert(offsetof(aph_device_info, struct_size) == 0);
static_assert(offsetof(aph_device_info, name) == 4);
static_assert(offsetof(aph_device_info, detail) == 132);
static_assert(offsetof(aph_device_info, memory_total) == 392);
static_assert(offsetof(aph_device_info, memory_free) == 400);
static_assert(offsetof(aph_device_info, flags) == 408);
static_assert(sizeof(aph_backend_stats) == 32);
static_assert(offsetof(aph_backend_stats, struct_size) == 0);
static_assert(offsetof(aph_backend_stats, bytes_allocated) == 8);
static_assert(offsetof(aph_backend_stats, graphs_computed) == 16);
static_assert(offsetof(aph_backend_stats, nodes_computed) == 24);
static_assert(sizeof(aph_string) == 16);
static_assert(sizeof(aph_metadata_entry) == 72);
static_assert(offsetof(aph_metadata_entry, key) == 0);
static_assert(offsetof(aph_metadata_entry, type) == 16);
static_assert(offsetof(aph_metadata_entry, elem_type) == 20);
static_assert(offsetof(aph_metadata_entry, count) == 24);
static_assert(offsetof(aph_metadata_entry, scalar) == 32);
static_assert(offsetof(aph_metadata_entry, str) == 40);
static_assert(offsetof(aph_metadata_entry, data) == 56);
static_assert(offsetof(aph_metadata_entry, strings) == 64);
static_assert(sizeof(aph_tensor_info) == 72);
static_assert(offsetof(aph_tensor_info, name) == 0);
static_assert(offsetof(aph_tensor_info, dtype) == 16);
static_assert(offsetof(aph_tensor_info, n_dims) == 20);
static_assert(offsetof(aph_tensor_info, ne) == 24);
static_assert(offsetof(aph_tensor_info, size) == 56);
static_assert(offsetof(aph_tensor_info, data) == 64);
}  // namespace layout_x86_64
#endif

// Portable pins: members every struct_size-versioned struct starts with, and the stable enum values.
static_assert(offsetof(aph_plugin_desc, abi_major) == 0);
static_assert(offsetof(aph_backend_vtable, struct_size) == 0);
static_assert(offsetof(aph_format_vtable, struct_size) == 0);
static_assert(offsetof(aph_kv_vtable, struct_size) == 0);
static_assert(offsetof(aph_graph, struct_size) == 0);
static_assert(sizeof(aph_error) == APH_ERROR_MESSAGE_MAX);
static_assert(APH_ERROR_MESSAGE_MAX == 512);
static_assert(APH_MAX_DIMS == 4);
static_assert(APH_MAX_SRC == 6);

static_assert(APH_ABI_MAJOR == 1);

static_assert(APH_OK == 0 && APH_STATUS_INVALID_ARGUMENT == 1 && APH_STATUS_UNSUPPORTED == 2 &&
              APH_STATUS_BAD_FORMAT == 3 && APH_STATUS_IO == 4 && APH_STATUS_OUT_OF_MEMORY == 5 &&
              APH_STATUS_EXHAUSTED == 6 && APH_STATUS_DEVICE == 7 && APH_STATUS_ABORTED == 8 &&
              APH_STATUS_INTERNAL == 9);
static_assert(APH_PLUGIN_BACKEND == 1 && APH_PLUGIN_FORMAT == 2 && APH_PLUGIN_KV_CACHE == 3);
// dtypes are the GGML type ids (GGUF tensors map 1:1).
static_assert(APH_DTYPE_F32 == 0 && APH_DTYPE_F16 == 1 && APH_DTYPE_Q4_0 == 2 && APH_DTYPE_Q4_1 == 3 &&
              APH_DTYPE_Q5_0 == 6 && APH_DTYPE_Q5_1 == 7 && APH_DTYPE_Q8_0 == 8 && APH_DTYPE_Q8_1 == 9 &&
              APH_DTYPE_Q2_K == 10 && APH_DTYPE_Q3_K == 11 && APH_DTYPE_Q4_K == 12 && APH_DTYPE_Q5_K == 13 &&
              APH_DTYPE_Q6_K == 14 && APH_DTYPE_Q8_K == 15 && APH_DTYPE_I8 == 24 && APH_DTYPE_I16 == 25 &&
              APH_DTYPE_I32 == 26 && APH_DTYPE_I64 == 27 && APH_DTYPE_F64 == 28 && APH_DTYPE_BF16 == 30 &&
              APH_DTYPE_APR_Q4 == 128 && APH_DTYPE_APR_Q8 == 129);
static_assert(APH_OP_NONE == 0 && APH_OP_GET_ROWS == 1 && APH_OP_RMS_NORM == 2 && APH_OP_MUL_MAT == 3 &&
              APH_OP_ROPE == 4 && APH_OP_KV_STORE == 5 && APH_OP_ATTENTION == 6 && APH_OP_SWIGLU == 7 &&
              APH_OP_GEGLU == 8 && APH_OP_ADD == 9 && APH_OP_SCALE == 10 && APH_OP_COPY == 11);
static_assert(APH_OP_COUNT_ >= 12); // may grow by appending
static_assert(APH_ROPE_NORM == 0 && APH_ROPE_NEOX == 2);
static_assert(APH_VALUE_U8 == 0 && APH_VALUE_I8 == 1 && APH_VALUE_U16 == 2 && APH_VALUE_I16 == 3 &&
              APH_VALUE_U32 == 4 && APH_VALUE_I32 == 5 && APH_VALUE_F32 == 6 && APH_VALUE_BOOL == 7 &&
              APH_VALUE_STRING == 8 && APH_VALUE_ARRAY == 9 && APH_VALUE_U64 == 10 && APH_VALUE_I64 == 11 &&
              APH_VALUE_F64 == 12); // the GGUF value type ids
static_assert(APH_LOG_DEBUG == 0 && APH_LOG_INFO == 1 && APH_LOG_WARN == 2 && APH_LOG_ERROR == 3);
static_assert(APH_DEVICE_HOST_VISIBLE == 1 && APH_DEVICE_IMPORT_HOST == 2);

TEST_CASE("abi: entry symbol names are the released ones", "[sdk][abi]") {
    CHECK(std::string(APH_ENTRY_SYMBOL) == "aprhost_plugin_entry");
    CHECK(std::string(APH_SCORE_SYMBOL) == "aprhost_plugin_score");
}

TEST_CASE("abi: a C compiler lays out the structs exactly as C++ does", "[sdk][abi]") {
    CHECK(aph_c_sizeof(0) == sizeof(aph_plugin_desc));
    CHECK(aph_c_sizeof(1) == sizeof(aph_backend_vtable));
    CHECK(aph_c_sizeof(2) == sizeof(aph_format_vtable));
    CHECK(aph_c_sizeof(3) == sizeof(aph_kv_vtable));
    CHECK(aph_c_sizeof(4) == sizeof(aph_tensor));
    CHECK(aph_c_sizeof(5) == sizeof(aph_node));
    CHECK(aph_c_sizeof(6) == sizeof(aph_graph));
    CHECK(aph_c_sizeof(7) == sizeof(aph_kv_config));
    CHECK(aph_c_sizeof(8) == sizeof(aph_metadata_entry));
    CHECK(aph_c_sizeof(9) == sizeof(aph_tensor_info));
    CHECK(aph_c_sizeof(10) == offsetof(aph_node, name));
    CHECK(aph_c_sizeof(11) == offsetof(aph_plugin_desc, vtable));
}
