// Writes GGUF v3 files: metadata from a core::Metadata, tensors streamed through fill callbacks so a 4 GB
// synthetic 7B model never sits in memory. Used by `aprhost synth`, the tests' fixtures and `aprhost convert`.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/core/metadata.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace aprhost::core {

class GgufWriter {
public:
    // Writes the bytes of one tensor into `out` (exactly the tensor's byte size; called once, in tensor order).
    using Fill = std::function<void(std::span<uint8_t> out)>;
    // Called after each tensor with (bytes written so far, total bytes).
    using Progress = std::function<void(uint64_t done, uint64_t total)>;

    explicit GgufWriter(Metadata metadata, uint32_t alignment = 32);

    // ne: GGUF order (ne[0] = row length). Throws core::Error(USAGE) when ne[0] is not a multiple of the dtype's
    // block size or the name is duplicated.
    void add_tensor(std::string name, aph_dtype dtype, std::vector<int64_t> ne, Fill fill);

    // Writes the file (to path + ".tmp", then renamed). Throws core::Error(BAD_INPUT) on I/O failure.
    void write(const std::string& path, const Progress& progress = {}) const;

    uint64_t total_tensor_bytes() const;

private:
    struct Tensor {
        std::string name;
        aph_dtype dtype;
        std::vector<int64_t> ne;
        uint64_t size;
        Fill fill;
    };
    Metadata metadata_;
    uint32_t alignment_;
    std::vector<Tensor> tensors_;
};

}  // namespace aprhost::core
