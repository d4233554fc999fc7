// Facts about aph_dtype values the host needs: names, block sizes, bytes per block.
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace aprhost::core {

struct DtypeTraits {
    aph_dtype dtype;
    const char* name;      // "q4_K", "f16", ... (ggml spelling)
    uint32_t block_elems;  // elements per block (1 for plain types)
    uint32_t block_bytes;  // bytes per block
};

// nullopt for ids aprhost does not know.
std::optional<DtypeTraits> dtype_traits(uint32_t dtype);
const char* dtype_name(uint32_t dtype);  // "unknown(N)"-style static string for unknown ids is NOT returned: "?"
std::optional<aph_dtype> dtype_from_name(std::string_view name);  // case-insensitive

// Bytes of a row of n elements, nullopt if n is not a multiple of the block size or the dtype is unknown.
std::optional<uint64_t> dtype_row_bytes(uint32_t dtype, int64_t n);

}  // namespace aprhost::core
