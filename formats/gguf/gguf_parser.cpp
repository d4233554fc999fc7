// GGUF parsing and validation. Why so defensive: model files come from the internet, and every count, length and
// offset below is attacker-controlled until checked. The rule is: check against what is left in the file with
// overflow-safe arithmetic, THEN allocate or index.
#include "gguf_parser.h"

#include <aprhost/graph_rules.hpp>
#include <aprhost/plugin.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

namespace aprhost::gguf {
namespace {

using sdk::Error;

constexpr uint32_t kDefaultAlignment = 32;
// Smallest possible encodings, used to bound counts by the bytes left before anything is reserved.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // key length + type + a 1-byte value (empty key refused)
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length + n_dims + one dim + type + offset
// Up-front reservations are capped: a count that passed the size bound can still be a lie in a large file, so
// memory should grow with what was actually parsed, not with what the header claims.
constexpr uint64_t kMaxReserve = 1u << 16;

size_t capped(uint64_t n) { return static_cast<size_t>(std::min(n, kMaxReserve)); }

[[noreturn]] void fail(const std::string& msg) { throw Error(APH_STATUS_BAD_FORMAT, "GGUF: " + msg); }

std::string num(uint64_t v) { return std::to_string(v); }

uint64_t read_le(const uint8_t* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
}

// Bytes of one element of a fixed-size value type; 0 for STRING / ARRAY / unknown.
uint64_t value_width(uint32_t t) {
    switch (t) {
    case APH_VALUE_U8:
    case APH_VALUE_I8:
    case APH_VALUE_BOOL: return 1;
    case APH_VALUE_U16:
    case APH_VALUE_I16: return 2;
    case APH_VALUE_U32:
    case APH_VALUE_I32:
    case APH_VALUE_F32: return 4;
    case APH_VALUE_U64:
    case APH_VALUE_I64:
    case APH_VALUE_F64: return 8;
    default: return 0;
    }
}

bool value_type_known(uint32_t t) { return t <= APH_VALUE_F64; }


// Reads one key/value (after its key) into kv. Arrays of arrays are refused, see the header.
void parse_value(Cursor& c, GgufKeyValue& kv, const std::string& where) {
    kv.type = c.u32(where + " value type");
    if (!value_type_known(kv.type)) fail(where + " has unknown value type " + num(kv.type));

    if (kv.type == APH_VALUE_STRING) {
        kv.str = c.str(where + " string value");
        return;
    }
    if (kv.type != APH_VALUE_ARRAY) {
        uint64_t w = value_width(kv.type);
        uint64_t raw = read_le(c.take(w, where + " value"), w);
        switch (kv.type) {
        case APH_VALUE_I8: kv.scalar.i64 = static_cast<int8_t>(raw); break;
        case APH_VALUE_I16: kv.scalar.i64 = static_cast<int16_t>(raw); break;
        case APH_VALUE_I32: kv.scalar.i64 = static_cast<int32_t>(raw); break;
        case APH_VALUE_BOOL:
            if (raw > 1) fail(where + " is a bool with invalid value " + num(raw) + " (must be 0 or 1)");
            kv.scalar.u64 = raw;
            break;
        default: kv.scalar.u64 = raw; break;  // unsigned, i64, f32 bits (low 4 bytes), f64 bits
        }
        return;
    }

    kv.elem_type = c.u32(where + " array element type");
    if (kv.elem_type == APH_VALUE_ARRAY) fail(where + " is an array of arrays (nested arrays are not supported)");
    if (!value_type_known(kv.elem_type)) fail(where + " is an array of unknown value type " + num(kv.elem_type));
    kv.count = c.u64(where + " array length");

    if (kv.elem_type == APH_VALUE_STRING) {
        // Each string needs at least its 8-byte length: bound the count before reserving the table.
        if (kv.count > c.remaining() / 8)
            fail(where + " claims " + num(kv.count) + " strings but only " + num(c.remaining()) +
                 " bytes are left in the file");
        kv.strings.reserve(capped(kv.count));
        // One context string for all elements: tokenizer arrays have ~10^5 entries (the offset locates the bad one).
        const std::string elem_what = where + " string element";
        for (uint64_t i = 0; i < kv.count; ++i) {
            std::string_view s = c.str(elem_what);
            kv.strings.push_back(aph_string{s.data(), s.size()});
        }
        return;
    }
    uint64_t w = value_width(kv.elem_type);
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(kv.count, w, &bytes) || bytes > c.remaining())
        fail(where + " claims " + num(kv.count) + " elements of " + gguf_value_type_name(kv.elem_type) + " but only " +
             num(c.remaining()) + " bytes are left in the file");
    kv.data = c.take(bytes, where + " array data");
    if (kv.elem_type == APH_VALUE_BOOL) {
        for (uint64_t i = 0; i < kv.count; ++i)
            if (kv.data[i] > 1)
                fail(where + " bool element " + num(i) + " has invalid value " + num(kv.data[i]) + " (must be 0 or 1)");
    }
}

// general.alignment: u32, non-zero power of two. Other types are refused (the spec fixes it as u32).
uint32_t alignment_of(const std::vector<GgufKeyValue>& kvs) {
    for (const auto& kv : kvs) {
        if (kv.key != "general.alignment") continue;
        if (kv.type != APH_VALUE_U32)
            fail("key 'general.alignment' has type " + std::string(gguf_value_type_name(kv.type)) + ", expected u32");
        uint64_t a = kv.scalar.u64;
        if (a == 0 || (a & (a - 1)) != 0) fail("general.alignment = " + num(a) + " is not a power of two");
        return static_cast<uint32_t>(a);
    }
    return kDefaultAlignment;
}

// Reads one tensor info and validates everything that does not depend on the data section.
GgufTensor parse_tensor_info(Cursor& c, uint64_t index) {
    GgufTensor t;
    std::string where = "tensor info " + num(index);
    t.name = c.str(where + " name");
    if (t.name.empty()) fail(where + " has an empty name");
    where = "tensor " + gguf_quote(t.name);

    t.n_dims = c.u32(where + " n_dims");
    if (t.n_dims == 0 || t.n_dims > APH_MAX_DIMS)
        fail(where + " has n_dims " + num(t.n_dims) + " (must be 1.." + num(APH_MAX_DIMS) + ")");
    uint64_t elems = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
        uint64_t ne = c.u64(where + " dim " + num(d));
        if (ne == 0) fail(where + " has dim " + num(d) + " = 0");
        if (ne > uint64_t(std::numeric_limits<int64_t>::max()) || __builtin_mul_overflow(elems, ne, &elems) ||
            elems > uint64_t(std::numeric_limits<int64_t>::max()))
            fail(where + " has dims whose element count overflows int64 (dim " + num(d) + " = " + num(ne) + ")");
        t.ne[d] = static_cast<int64_t>(ne);
    }

    t.dtype = c.u32(where + " type");
    uint32_t block_elems = 0, block_bytes = 0;
    if (!gguf_dtype_block(t.dtype, block_elems, block_bytes))
        fail(where + " has unknown or unsupported type id " + num(t.dtype));
    if (uint64_t(t.ne[0]) % block_elems != 0)
        fail(where + " of type " + gguf_dtype_name(t.dtype) + " has row length " + num(uint64_t(t.ne[0])) +
             ", not a multiple of the block size " + num(block_elems));
    // elems fits int64 and is a multiple of block_elems, so elems / block_elems * block_bytes is the only product
    // that can overflow.
    if (__builtin_mul_overflow(elems / block_elems, uint64_t(block_bytes), &t.size))
        fail(where + " data size overflows 64 bits");

    t.offset = c.u64(where + " offset");
    return t;
}

}  // namespace

// ------------------------------------------------------------------------------------------------------------
// Cursor
// ------------------------------------------------------------------------------------------------------------

void Cursor::need(uint64_t n, std::string_view what) const {
    if (n > remaining())
        fail("file truncated at offset " + num(pos_) + " reading " + std::string(what) + " (need " + num(n) +
             " bytes, " + num(remaining()) + " left)");
}

const uint8_t* Cursor::take(uint64_t n, std::string_view what) {
    need(n, what);
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
}

uint8_t Cursor::u8(std::string_view what) { return *take(1, what); }
uint32_t Cursor::u32(std::string_view what) { return static_cast<uint32_t>(read_le(take(4, what), 4)); }
uint64_t Cursor::u64(std::string_view what) { return read_le(take(8, what), 8); }

std::string_view Cursor::str(std::string_view what) {
    uint64_t n = u64(what);
    if (n > remaining())
        fail(std::string(what) + " at offset " + num(pos_ - 8) + " has length " + num(n) + " but only " +
             num(remaining()) + " bytes are left in the file");
    const uint8_t* p = take(n, what);
    return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)};
}

// ------------------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------------------

bool gguf_has_magic(const uint8_t* head, size_t n) { return head && n >= 4 && std::memcmp(head, "GGUF", 4) == 0; }

// GGUF carries the GGML ids only: the APR-native ids (>= 128) are not valid in a GGUF file.
bool gguf_dtype_block(uint32_t dtype, uint32_t& block_elems, uint32_t& block_bytes) {
    return dtype < 128 && sdk::dtype_storage(dtype, &block_elems, &block_bytes);
}

const char* gguf_dtype_name(uint32_t dtype) { return dtype < 128 ? sdk::dtype_name(dtype, "?") : "?"; }

const char* gguf_value_type_name(uint32_t type) {
    static const char* const names[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

std::string gguf_quote(std::string_view s) { return sdk::quoted_for_message(s); }

// ------------------------------------------------------------------------------------------------------------
// The parse
// ------------------------------------------------------------------------------------------------------------

GgufFile gguf_parse(std::span<const uint8_t> bytes) {
    Cursor c(bytes);
    GgufFile f;

    if (bytes.size() < 4 || !gguf_has_magic(bytes.data(), bytes.size())) {
        if (bytes.size() < 4) fail("file is " + num(bytes.size()) + " bytes, too small for the magic");
        fail("bad magic " + gguf_quote(std::string_view(reinterpret_cast<const char*>(bytes.data()), 4)) +
             " (expected 'GGUF')");
    }
    c.take(4, "magic");
    f.version = c.u32("version");
    if (f.version == 1) fail("version 1 is obsolete and not supported (re-convert the model with a current llama.cpp)");
    if (f.version != 2 && f.version != 3) {
        // A big-endian v2/v3 file reads as a byte-swapped version here.
        if (f.version == 0x02000000u || f.version == 0x03000000u) fail("big-endian files are not supported");
        fail("unsupported version " + num(f.version) + " (supported: 2, 3)");
    }

    uint64_t n_tensors = c.u64("tensor count");
    uint64_t n_kv = c.u64("key/value count");
    if (n_kv > c.remaining() / kMinKvBytes)
        fail("key/value count " + num(n_kv) + " is impossible: only " + num(c.remaining()) + " bytes follow the header");
    // The kvs precede the tensor infos, but both must fit, so bound the tensor count by the same remainder.
    if (n_tensors > c.remaining() / kMinTensorInfoBytes)
        fail("tensor count " + num(n_tensors) + " is impossible: only " + num(c.remaining()) +
             " bytes follow the header");

    // Key/values.
    f.kvs.reserve(capped(n_kv));
    std::unordered_set<std::string_view> keys;
    keys.reserve(capped(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
        GgufKeyValue kv;
        kv.file_offset = c.pos();
        kv.key = c.str("key " + num(i));
        if (kv.key.empty()) fail("key " + num(i) + " at offset " + num(kv.file_offset) + " is empty");
        std::string where = "key " + gguf_quote(kv.key);
        if (!keys.insert(kv.key).second) fail("duplicate " + where + " at offset " + num(kv.file_offset));
        parse_value(c, kv, where);
        f.kvs.push_back(std::move(kv));
    }
    f.alignment = alignment_of(f.kvs);

    // Tensor infos.
    if (n_tensors > c.remaining() / kMinTensorInfoBytes)
        fail("tensor count " + num(n_tensors) + " is impossible: only " + num(c.remaining()) +
             " bytes follow the key/values");
    f.tensors.reserve(capped(n_tensors));
    std::unordered_set<std::string_view> names;
    names.reserve(capped(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        GgufTensor t = parse_tensor_info(c, i);
        if (!names.insert(t.name).second) fail("duplicate tensor name " + gguf_quote(t.name));
        f.tensors.push_back(t);
    }

    // Data section: starts at the next multiple of the alignment (the padding may be absent with no tensors).
    uint64_t pos = c.pos();
    uint64_t a = f.alignment;
    uint64_t padded = 0;
    if (__builtin_add_overflow(pos, a - 1, &padded)) fail("data section offset overflows");
    f.data_offset = padded & ~(a - 1);
    if (f.data_offset > bytes.size() && !f.tensors.empty())
        fail("data section at offset " + num(f.data_offset) + " starts past end of file (size " + num(bytes.size()) +
             ")");

    for (const auto& t : f.tensors) {
        std::string where = "tensor " + gguf_quote(t.name);
        if (t.offset % a != 0)
            fail(where + " offset " + num(t.offset) + " is not a multiple of the alignment " + num(a));
        uint64_t start = 0, end = 0;
        bool start_overflows = __builtin_add_overflow(f.data_offset, t.offset, &start);
        if (start_overflows || __builtin_add_overflow(start, t.size, &end) || end > bytes.size()) {
            std::string at = start_overflows ? num(f.data_offset) + " + " + num(t.offset) : num(start);
            fail(where + " data [offset " + at + ", size " + num(t.size) + "] extends past end of file (size " +
                 num(bytes.size()) + ")");
        }
    }

    // Overlap: sort by offset, each tensor must start at or after the previous one's end.
    std::vector<const GgufTensor*> by_offset;
    by_offset.reserve(f.tensors.size());
    for (const auto& t : f.tensors) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensor* x, const GgufTensor* y) { return x->offset < y->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const GgufTensor* prev = by_offset[i - 1];
        const GgufTensor* cur = by_offset[i];
        if (cur->offset < prev->offset + prev->size)  // no overflow: both ends were checked against the file size
            fail("tensor " + gguf_quote(cur->name) + " data [offset " + num(cur->offset) + ", size " + num(cur->size) +
                 "] overlaps tensor " + gguf_quote(prev->name) + " [offset " + num(prev->offset) + ", size " +
                 num(prev->size) + "]");
    }
    return f;
}

}  // namespace aprhost::gguf
