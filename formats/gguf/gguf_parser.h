// GGUF v2/v3 parser over an in-memory byte span (normally the mmap of the file). Pure: no I/O, no globals.
// Everything read is validated with overflow-safe arithmetic before use; any problem throws
// aprhost::sdk::Error(APH_STATUS_BAD_FORMAT, "GGUF: <one line naming what is wrong>").
//
// Ownership: the returned GgufFile refers into the span (keys, strings, numeric arrays, tensor data); the span
// must outlive it. The only owned memory is the aph_string table of each string array.
//
// Policy decisions (documented here because they refuse files a lax reader might accept):
//   - versions 2 and 3 only; v1 (32-bit counts) and big-endian files are refused with a message saying so;
//   - arrays of arrays are refused (no model metadata uses them and aph_metadata_entry cannot express them);
//   - keys and tensor names must be non-empty and unique; bool values must be 0 or 1;
//   - general.alignment, when present, must be a u32 power of two (default 32);
//   - tensors: 1..4 dims, every dim > 0, element count fits int64, row length a whole number of blocks,
//     offset aligned, data inside the file, no two tensors' data overlapping.
#pragma once

#include <aprhost/abi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::gguf {

// Bounds-checked little-endian reader. Every read names what it reads so a truncation error says where it was.
class Cursor {
public:
    explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    size_t pos() const { return pos_; }
    size_t remaining() const { return bytes_.size() - pos_; }
    size_t size() const { return bytes_.size(); }

    // Throws "file truncated at offset P reading WHAT (need N bytes, M left)" unless n bytes remain.
    void need(uint64_t n, std::string_view what) const;
    // Returns a pointer to the next n bytes and advances past them.
    const uint8_t* take(uint64_t n, std::string_view what);

    uint8_t u8(std::string_view what);
    uint32_t u32(std::string_view what);
    uint64_t u64(std::string_view what);
    // GGUF string: u64 byte length + bytes (not NUL-terminated). The view points into the span.
    std::string_view str(std::string_view what);

private:
    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
};

struct GgufKeyValue {
    std::string_view key;
    uint32_t type = 0;        // aph_value_type (GGUF value type ids are the same numbers)
    uint32_t elem_type = 0;   // arrays only
    uint64_t count = 1;       // arrays: element count; else 1
    // Scalars: integers zero/sign-extended to 64 bits, bool 0/1, f32 as its 4 bytes at the start, f64 as double.
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
    } scalar{};
    std::string_view str;               // STRING
    const uint8_t* data = nullptr;      // numeric array: count packed little-endian elements in the span
    std::vector<aph_string> strings;    // string array: views into the span (owned table)
    uint64_t file_offset = 0;           // where the key/value starts, for messages
};

struct GgufTensor {
    std::string_view name;
    uint32_t dtype = 0;       // aph_dtype
    uint32_t n_dims = 0;
    int64_t ne[APH_MAX_DIMS] = {1, 1, 1, 1};
    uint64_t offset = 0;      // relative to the data section, as stored
    uint64_t size = 0;        // bytes
};

struct GgufFile {
    uint32_t version = 0;
    uint32_t alignment = 32;
    uint64_t data_offset = 0;  // absolute offset of the data section
    std::vector<GgufKeyValue> kvs;
    std::vector<GgufTensor> tensors;
};

// Parses and fully validates a GGUF file held in `bytes`.
GgufFile gguf_parse(std::span<const uint8_t> bytes);

// True if the first bytes carry the GGUF magic.
bool gguf_has_magic(const uint8_t* head, size_t n);

// GGML block facts for the dtype ids aprhost knows (a private copy: plugins do not link the core).
// Returns false for unknown ids.
bool gguf_dtype_block(uint32_t dtype, uint32_t& block_elems, uint32_t& block_bytes);
const char* gguf_dtype_name(uint32_t dtype);
const char* gguf_value_type_name(uint32_t type);

// Quotes a name from the file for an error message: printable ASCII kept, other bytes as \xNN, cut at 80 chars.
std::string gguf_quote(std::string_view s);

}  // namespace aprhost::gguf
