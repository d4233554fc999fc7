// Test support for the GGUF tests: loading the format plugin with dlopen (as a third party would), opening files
// through its vtable, a raw GGUF byte builder for hand-made (also malformed) files, and temp-file helpers.
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gguf_test {

// The GGUF plugin loaded from APRHOST_PLUGIN_DIR; stays loaded for the whole test run.
const aph_format_vtable& gguf_plugin();

// An opened model (closed on destruction) or the failure of opening it.
class Opened {
public:
    explicit Opened(const std::string& path);
    ~Opened();
    Opened(const Opened&) = delete;
    Opened& operator=(const Opened&) = delete;

    bool ok() const { return status == APH_OK; }
    aph_status status = APH_OK;
    std::string message;   // set when status != APH_OK
    void* model = nullptr;
};

// A unique path under APRHOST_TEST_DATA_DIR/gguf for this process (tests may run in parallel).
std::string temp_path(const std::string& stem);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_bytes(const std::string& path);

// Little-endian appends.
void put_u32(std::vector<uint8_t>& b, uint32_t v);
void put_u64(std::vector<uint8_t>& b, uint64_t v);
void put_str(std::vector<uint8_t>& b, const std::string& s);

// A GGUF file described field by field, so each malformed case changes exactly one thing.
struct RawKv {
    std::string key;
    uint32_t type = 0;
    std::vector<uint8_t> payload;  // bytes after the type field
    std::optional<uint64_t> key_length_override;  // write this key length instead of key.size()
};
struct RawTensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type = 0;
    uint64_t offset = 0;
    std::optional<uint32_t> n_dims_override;  // write this n_dims instead of dims.size()
    std::optional<uint64_t> name_length_override;  // write this name length instead of name.size()
};
struct RawFile {
    std::string magic = "GGUF";
    uint32_t version = 3;
    std::optional<uint64_t> tensor_count_override;
    std::optional<uint64_t> kv_count_override;
    std::vector<RawKv> kvs;
    std::vector<RawTensor> tensors;
    uint64_t pad_to = 32;      // data section alignment used when laying out the bytes
    uint64_t data_bytes = 0;   // bytes of data section written after the padding

    std::vector<uint8_t> bytes() const;
};

RawKv kv_u32(const std::string& key, uint32_t v);
RawKv kv_string(const std::string& key, const std::string& v);

// A small valid file: 5 key/values of different types and three tensors (f32, q4_0, q8_0) at offsets 0/64/128.
RawFile valid_raw_file();

}  // namespace gguf_test
