// Writes APR v2 files (see FORMATS.md): 64-byte header with CRC | JSON metadata | sorted binary tensor index |
// 64-byte aligned tensor data | footer CRC32. Tensor bytes are streamed through fill callbacks (never the whole
// model in memory), optionally through one LZ4 or zstd frame covering everything after the header.
// Used by `aprhost convert`; the APR format plugin reads what this writes.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/metadata.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace aprhost::core {

enum class AprCompression { NONE, LZ4, ZSTD };

class AprWriter {
public:
    using Fill = std::function<void(std::span<uint8_t> out)>;
    using Progress = std::function<void(uint64_t done, uint64_t total)>;

    // metadata: GGUF key names (as core::Metadata holds them). Translated to the APR JSON: config keys under their
    // canonical APR names (hidden_size, num_layers, ...), tokenizer keys as "tokenizer.vocabulary" etc., the chat
    // template as chat_template, every other key literally, plus "aprhost.gguf_types" recording each key's GGUF
    // type so the APR plugin gives back exactly the same metadata. Throws core::Error(USAGE) without
    // general.architecture.
    explicit AprWriter(const Metadata& metadata, AprCompression compression = AprCompression::NONE);

    // ne: GGUF order (ne[0] = row length); written to the index outermost first ([out, in], row-major).
    // dtype APR_Q8 tensors are given in the aph block layout and stored in the APR layout (one f32 scale per
    // tensor; every block must carry the same scale). Throws core::Error(USAGE) on bad shapes or duplicates.
    void add_tensor(std::string name, aph_dtype dtype, std::vector<int64_t> ne, Fill fill);

    // Writes the file (to path + ".tmp", renamed at the end). Throws core::Error(BAD_INPUT) on I/O failure.
    void write(const std::string& path, const Progress& progress = {}) const;

    const std::string& metadata_json() const { return json_; }

private:
    struct Tensor {
        std::string name;
        aph_dtype dtype;
        std::vector<int64_t> ne;
        uint64_t elements;
        uint64_t size;       // bytes given by fill
        uint64_t file_size;  // bytes stored
        Fill fill;
    };
    std::string json_;
    uint16_t flags_ = 0;
    AprCompression compression_;
    std::vector<Tensor> tensors_;
};

std::string apr_compression_name(AprCompression c);

}  // namespace aprhost::core
