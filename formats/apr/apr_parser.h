// APR v2 container parser (the format of paiml/aprender) over an in-memory byte span, normally the mmap of the
// file. Pure: no I/O, no globals. Layout (all little-endian, see FORMATS.md):
//   64-byte header | JSON metadata (padded to 64) | binary tensor index (padded to 64) |
//   tensor data (each tensor 64-byte aligned) | optional 4-byte CRC32 footer of all preceding bytes.
// With the LZ4 or ZSTD flag, everything after the header (up to the footer) is one compressed frame; it is
// decompressed once into memory and the header's offsets address header + decompressed payload ("logical file").
//
// Everything read is validated with overflow-safe arithmetic before use; any problem throws
// aprhost::sdk::Error(APH_STATUS_BAD_FORMAT, "APR: <one line naming what is wrong>").
//
// Policy (refusals a lax reader might not make):
//   - APR1 / version_major != 2, encrypted, sharded and column-major files are refused with a message saying so;
//   - header CRC must match (unless verify is off); a footer CRC, when present, must match;
//   - metadata_size ≤ 16 MiB; regions in order header ≤ metadata ≤ index ≤ data ≤ end of file;
//   - index entries: name non-empty and unique, ndim 1..8, dims > 0, element count fits int64, data inside the
//     data region, 64-byte aligned absolute offsets, no two tensors overlapping.
// Footer detection: after the last tensor's end, the file either ends, is padded to a multiple of 64 and ends,
// or carries exactly 4 more bytes after that padding (the CRC). Compressed: exactly 4 bytes after the frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::apr {

constexpr size_t kHeaderSize = 64;
constexpr uint32_t kMaxMetadataSize = 16u << 20;
constexpr uint32_t kMaxDims = 8;
constexpr uint64_t kTensorAlignment = 64;

enum AprFlags : uint16_t {
    APR_FLAG_LZ4 = 0x1,
    APR_FLAG_ZSTD = 0x2,
    APR_FLAG_ENCRYPTED = 0x4,
    APR_FLAG_SIGNED = 0x8,
    APR_FLAG_SHARDED = 0x10,
    APR_FLAG_QUANTIZED = 0x20,
    APR_FLAG_HAS_VOCAB = 0x200,
    APR_FLAG_ROW_MAJOR = 0x400,
    APR_FLAG_COLUMN_MAJOR = 0x800,
};

struct AprHeader {
    char magic[4] = {};
    uint8_t version_major = 0;
    uint8_t version_minor = 0;
    uint16_t flags = 0;
    uint32_t tensor_count = 0;
    uint64_t metadata_offset = 0;
    uint32_t metadata_size = 0;
    uint64_t tensor_index_offset = 0;
    uint64_t data_offset = 0;
    uint32_t crc = 0;
};

struct AprIndexEntry {
    std::string_view name;  // view into the logical file
    uint8_t dtype = 0;      // as stored (GGML id or 128/129)
    uint8_t ndim = 0;
    uint64_t dims[kMaxDims] = {};
    uint64_t offset = 0;    // relative to data_offset
    uint64_t size = 0;      // bytes
    uint64_t elements = 0;
};

// Frees memory from std::aligned_alloc.
struct FreeDeleter {
    void operator()(uint8_t* p) const;
};

struct AprFile {
    AprHeader header;
    // The bytes the offsets refer to: the file itself, or header + decompressed payload held in `owned`.
    std::span<const uint8_t> logical;
    std::unique_ptr<uint8_t, FreeDeleter> owned;
    uint64_t compressed_bytes = 0;  // payload frame size when compressed
    bool footer_crc = false;        // a footer CRC was present and verified
    std::string_view metadata_json;
    std::vector<AprIndexEntry> index;  // in file order
};

// Parses and validates an APR file held in `bytes`. verify = false skips the CRC checks (header and footer).
AprFile apr_parse(std::span<const uint8_t> bytes, bool verify);

// True if the first bytes carry an APR magic ("APR\0", "APR2"; also "APR1" so open() can refuse it clearly).
bool apr_has_magic(const uint8_t* head, size_t n);

// zlib CRC32 of the header bytes 0..40 and 44..64 (the CRC field itself excluded).
uint32_t apr_header_crc(const uint8_t* header64);

// Quotes a name from the file for an error message: printable ASCII kept, other bytes as \xNN, cut at 80 chars.
std::string apr_quote(std::string_view s);

std::string apr_flags_string(uint16_t flags);  // "lz4|row-major|has-vocab", or "none"

}  // namespace aprhost::apr
