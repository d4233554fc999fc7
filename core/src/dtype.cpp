// Facts about the GGML dtype ids aprhost knows: ggml spelling, elements and bytes per block.
// The table mirrors the public block layouts (see FORMATS.md); byte counts are sums of the block's fields.
#include <aprhost/core/dtype.hpp>

#include <array>
#include <cctype>

namespace aprhost::core {
namespace {

// One row per known id. Bytes per block, derived from the block structs:
//   q8_1: f16 d + f16 s + 32 i8;   q2_K: 16 scales + 64 qs + f16 d + f16 dmin
//   q3_K: 32 hmask + 64 qs + 12 scales + f16 d;   q8_K: f32 d + 256 i8 + 16 i16 bsums
constexpr std::array<DtypeTraits, 22> kTraits{{
    {APH_DTYPE_F32, "f32", 1, 4},
    {APH_DTYPE_F16, "f16", 1, 2},
    {APH_DTYPE_Q4_0, "q4_0", 32, 18},
    {APH_DTYPE_Q4_1, "q4_1", 32, 20},
    {APH_DTYPE_Q5_0, "q5_0", 32, 22},
    {APH_DTYPE_Q5_1, "q5_1", 32, 24},
    {APH_DTYPE_Q8_0, "q8_0", 32, 34},
    {APH_DTYPE_Q8_1, "q8_1", 32, 36},
    {APH_DTYPE_Q2_K, "q2_K", 256, 84},
    {APH_DTYPE_Q3_K, "q3_K", 256, 110},
    {APH_DTYPE_Q4_K, "q4_K", 256, 144},
    {APH_DTYPE_Q5_K, "q5_K", 256, 176},
    {APH_DTYPE_Q6_K, "q6_K", 256, 210},
    {APH_DTYPE_Q8_K, "q8_K", 256, 292},
    {APH_DTYPE_I8, "i8", 1, 1},
    {APH_DTYPE_I16, "i16", 1, 2},
    {APH_DTYPE_I32, "i32", 1, 4},
    {APH_DTYPE_I64, "i64", 1, 8},
    {APH_DTYPE_F64, "f64", 1, 8},
    {APH_DTYPE_BF16, "bf16", 1, 2},
    {APH_DTYPE_APR_Q4, "apr_q4", 32, 18},  // APR-native: f16 scale + 16 bytes of nibble pairs
    {APH_DTYPE_APR_Q8, "apr_q8", 32, 36},  // APR-native: f32 scale + 32 × i8 (see abi.h)
}};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

}  // namespace

std::optional<DtypeTraits> dtype_traits(uint32_t dtype) {
    for (const auto& t : kTraits) {
        if (static_cast<uint32_t>(t.dtype) == dtype) return t;
    }
    return std::nullopt;
}

const char* dtype_name(uint32_t dtype) {
    auto t = dtype_traits(dtype);
    return t ? t->name : "?";
}

std::optional<aph_dtype> dtype_from_name(std::string_view name) {
    for (const auto& t : kTraits) {
        if (iequals(name, t.name)) return t.dtype;
    }
    return std::nullopt;
}

std::optional<uint64_t> dtype_row_bytes(uint32_t dtype, int64_t n) {
    auto t = dtype_traits(dtype);
    if (!t || n < 0) return std::nullopt;
    uint64_t un = static_cast<uint64_t>(n);
    if (un % t->block_elems != 0) return std::nullopt;
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(un / t->block_elems, static_cast<uint64_t>(t->block_bytes), &bytes))
        return std::nullopt;
    return bytes;
}

}  // namespace aprhost::core
