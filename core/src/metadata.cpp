// Owned model metadata: copying plugin entries, typed setters/getters, short printable forms.
#include <aprhost/core/metadata.hpp>

#include <aprhost/core/error.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace aprhost::core {
namespace {

// Bytes of one packed element of a non-string, non-array value type; 0 for STRING/ARRAY/unknown.
size_t value_type_width(aph_value_type t) {
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

bool value_type_is_float(aph_value_type t) { return t == APH_VALUE_F32 || t == APH_VALUE_F64; }

// Decodes one packed little-endian value of type t (width bytes at p, possibly unaligned) into v's scalar fields.
// Both i and u are filled where the value fits, so callers may read either.
void decode_scalar(aph_value_type t, const void* p, MetaValue& v) {
    uint8_t b[8] = {};
    std::memcpy(b, p, value_type_width(t));
    auto le = [&](size_t n) {
        uint64_t x = 0;
        for (size_t i = 0; i < n; ++i) x |= uint64_t(b[i]) << (8 * i);
        return x;
    };
    switch (t) {
    case APH_VALUE_U8: v.u = le(1); break;
    case APH_VALUE_U16: v.u = le(2); break;
    case APH_VALUE_U32: v.u = le(4); break;
    case APH_VALUE_U64: v.u = le(8); break;
    case APH_VALUE_I8: v.i = static_cast<int8_t>(le(1)); break;
    case APH_VALUE_I16: v.i = static_cast<int16_t>(le(2)); break;
    case APH_VALUE_I32: v.i = static_cast<int32_t>(le(4)); break;
    case APH_VALUE_I64: v.i = static_cast<int64_t>(le(8)); break;
    case APH_VALUE_BOOL: v.i = b[0] != 0 ? 1 : 0; break;
    case APH_VALUE_F32: {
        uint32_t bits = static_cast<uint32_t>(le(4));
        float f;
        std::memcpy(&f, &bits, 4);
        v.f = f;
        return;
    }
    case APH_VALUE_F64: {
        uint64_t bits = le(8);
        std::memcpy(&v.f, &bits, 8);
        return;
    }
    default: return;
    }
    if (value_type_is_unsigned(t)) {
        if (v.u <= uint64_t(std::numeric_limits<int64_t>::max())) v.i = static_cast<int64_t>(v.u);
    } else if (v.i >= 0) {
        v.u = static_cast<uint64_t>(v.i);
    }
}

std::string type_label(const MetaValue& v) {
    if (v.is_array()) return std::string("array of ") + value_type_name(v.elem_type);
    return value_type_name(v.type);
}

[[noreturn]] void type_error(std::string_view key, const MetaValue& v, const char* expected) {
    throw Error(ErrorKind::BAD_INPUT,
                "metadata key '" + std::string(key) + "' has type " + type_label(v) + ", expected " + expected);
}

// Appends s to out with control characters escaped so the result stays one printable line.
void append_escaped(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    for (unsigned char c : s) {
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
        else if (c < 0x20 || c == 0x7f) { out += "\\x"; out += hex[c >> 4]; out += hex[c & 15]; }
        else out += static_cast<char>(c);
    }
}

std::string format_double(double d, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, d);
    return buf;
}

std::string format_scalar(const MetaValue& v) {
    if (v.type == APH_VALUE_BOOL) return v.i ? "true" : "false";
    // f32 values print with the digits a float carries ("1e-06", not "9.99999997e-07").
    if (v.type == APH_VALUE_F32) return format_double(static_cast<float>(v.f), 7);
    if (v.type == APH_VALUE_F64) return format_double(v.f, 17);
    if (value_type_is_unsigned(v.type)) return std::to_string(v.u);
    return std::to_string(v.i);
}

}  // namespace

uint64_t MetaValue::array_size() const {
    if (!is_array()) return 0;
    if (elem_type == APH_VALUE_STRING) return strings.size();
    if (value_type_is_float(elem_type)) return floats.size();
    return ints.size();
}

bool value_type_is_integer(aph_value_type t) {
    switch (t) {
    case APH_VALUE_U8:
    case APH_VALUE_I8:
    case APH_VALUE_U16:
    case APH_VALUE_I16:
    case APH_VALUE_U32:
    case APH_VALUE_I32:
    case APH_VALUE_U64:
    case APH_VALUE_I64:
    case APH_VALUE_BOOL: return true;
    default: return false;
    }
}

bool value_type_is_unsigned(aph_value_type t) {
    return t == APH_VALUE_U8 || t == APH_VALUE_U16 || t == APH_VALUE_U32 || t == APH_VALUE_U64;
}

const char* value_type_name(aph_value_type t) {
    switch (t) {
    case APH_VALUE_U8: return "u8";
    case APH_VALUE_I8: return "i8";
    case APH_VALUE_U16: return "u16";
    case APH_VALUE_I16: return "i16";
    case APH_VALUE_U32: return "u32";
    case APH_VALUE_I32: return "i32";
    case APH_VALUE_F32: return "f32";
    case APH_VALUE_BOOL: return "bool";
    case APH_VALUE_STRING: return "string";
    case APH_VALUE_ARRAY: return "array";
    case APH_VALUE_U64: return "u64";
    case APH_VALUE_I64: return "i64";
    case APH_VALUE_F64: return "f64";
    }
    return "?";
}

// ------------------------------------------------------------------------------------------------------------
// Building
// ------------------------------------------------------------------------------------------------------------

void Metadata::add_entry(const aph_metadata_entry& e) {
    if (e.key.size > 0 && !e.key.data)
        throw Error(ErrorKind::BAD_INPUT, "metadata entry with a NULL key of length " + std::to_string(e.key.size));
    std::string key(e.key.data ? e.key.data : "", e.key.size);
    auto bad = [&](const std::string& why) { throw Error(ErrorKind::BAD_INPUT, "metadata key '" + key + "': " + why); };
    if (!value_type_known(e.type)) bad("unknown value type " + std::to_string(e.type));

    MetaValue v;
    v.type = static_cast<aph_value_type>(e.type);
    if (v.type == APH_VALUE_STRING) {
        if (e.str.size > 0 && !e.str.data) bad("NULL string data");
        v.s.assign(e.str.data ? e.str.data : "", e.str.size);
    } else if (v.type == APH_VALUE_ARRAY) {
        if (!value_type_known(e.elem_type)) bad("unknown array element type " + std::to_string(e.elem_type));
        if (e.elem_type == APH_VALUE_ARRAY) bad("arrays of arrays are not supported");
        v.elem_type = static_cast<aph_value_type>(e.elem_type);
        if (v.elem_type == APH_VALUE_STRING) {
            if (e.count > 0 && !e.strings) bad("NULL string array");
            v.strings.reserve(e.count);
            for (uint64_t i = 0; i < e.count; ++i) {
                const aph_string& s = e.strings[i];
                if (s.size > 0 && !s.data) bad("NULL string at index " + std::to_string(i));
                v.strings.emplace_back(s.data ? s.data : "", s.size);
            }
        } else {
            if (e.count > 0 && !e.data) bad("NULL array data");
            size_t w = value_type_width(v.elem_type);
            const auto* p = static_cast<const uint8_t*>(e.data);
            bool is_float = value_type_is_float(v.elem_type);
            if (is_float) v.floats.reserve(e.count);
            else v.ints.reserve(e.count);
            for (uint64_t i = 0; i < e.count; ++i) {
                MetaValue one;
                decode_scalar(v.elem_type, p + i * w, one);
                if (is_float) v.floats.push_back(one.f);
                else v.ints.push_back(value_type_is_unsigned(v.elem_type) ? static_cast<int64_t>(one.u) : one.i);
            }
        }
    } else {
        // The entry's scalar holds the value's own little-endian bytes at the start of the union.
        decode_scalar(v.type, &e.scalar, v);
    }
    set(std::move(key), std::move(v));
}

void Metadata::set(std::string key, MetaValue v) { entries_[std::move(key)] = std::move(v); }

void Metadata::set_string(std::string key, std::string v) {
    MetaValue m;
    m.type = APH_VALUE_STRING;
    m.s = std::move(v);
    set(std::move(key), std::move(m));
}

void Metadata::set_u32(std::string key, uint32_t v) {
    MetaValue m;
    m.type = APH_VALUE_U32;
    m.u = v;
    m.i = v;
    set(std::move(key), std::move(m));
}

void Metadata::set_i32(std::string key, int32_t v) {
    MetaValue m;
    m.type = APH_VALUE_I32;
    m.i = v;
    m.u = v >= 0 ? static_cast<uint64_t>(v) : 0;
    set(std::move(key), std::move(m));
}

void Metadata::set_f32(std::string key, float v) {
    MetaValue m;
    m.type = APH_VALUE_F32;
    m.f = v;
    set(std::move(key), std::move(m));
}

void Metadata::set_bool(std::string key, bool v) {
    MetaValue m;
    m.type = APH_VALUE_BOOL;
    m.i = v ? 1 : 0;
    m.u = m.i;
    set(std::move(key), std::move(m));
}

void Metadata::set_string_array(std::string key, std::vector<std::string> v) {
    MetaValue m;
    m.type = APH_VALUE_ARRAY;
    m.elem_type = APH_VALUE_STRING;
    m.strings = std::move(v);
    set(std::move(key), std::move(m));
}

void Metadata::set_f32_array(std::string key, std::vector<float> v) {
    MetaValue m;
    m.type = APH_VALUE_ARRAY;
    m.elem_type = APH_VALUE_F32;
    m.floats.assign(v.begin(), v.end());
    set(std::move(key), std::move(m));
}

void Metadata::set_i32_array(std::string key, std::vector<int32_t> v) {
    MetaValue m;
    m.type = APH_VALUE_ARRAY;
    m.elem_type = APH_VALUE_I32;
    m.ints.assign(v.begin(), v.end());
    set(std::move(key), std::move(m));
}

// ------------------------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------------------------

const MetaValue* Metadata::find(std::string_view key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
}

std::optional<std::string> Metadata::get_string(std::string_view key) const {
    const MetaValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != APH_VALUE_STRING) type_error(key, *v, "string");
    return v->s;
}

std::optional<int64_t> Metadata::get_int(std::string_view key) const {
    const MetaValue* v = find(key);
    if (!v) return std::nullopt;
    if (!value_type_is_integer(v->type)) type_error(key, *v, "integer");
    if (value_type_is_unsigned(v->type)) {
        if (v->u > uint64_t(std::numeric_limits<int64_t>::max()))
            throw Error(ErrorKind::BAD_INPUT, "metadata key '" + std::string(key) + "' value " + std::to_string(v->u) +
                                                  " does not fit a signed 64-bit integer");
        return static_cast<int64_t>(v->u);
    }
    return v->i;
}

std::optional<double> Metadata::get_float(std::string_view key) const {
    const MetaValue* v = find(key);
    if (!v) return std::nullopt;
    if (value_type_is_float(v->type)) return v->f;
    if (v->type == APH_VALUE_BOOL || !value_type_is_integer(v->type)) type_error(key, *v, "number");
    return value_type_is_unsigned(v->type) ? static_cast<double>(v->u) : static_cast<double>(v->i);
}

std::optional<bool> Metadata::get_bool(std::string_view key) const {
    const MetaValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != APH_VALUE_BOOL) type_error(key, *v, "bool");
    return v->i != 0;
}

const std::vector<std::string>& Metadata::get_string_array(std::string_view key) const {
    static const std::vector<std::string> empty;
    const MetaValue* v = find(key);
    if (!v) return empty;
    if (!v->is_array() || v->elem_type != APH_VALUE_STRING) type_error(key, *v, "array of string");
    return v->strings;
}

std::vector<float> Metadata::get_f32_array(std::string_view key) const {
    const MetaValue* v = find(key);
    if (!v) return {};
    if (!v->is_array() || v->elem_type == APH_VALUE_STRING || v->elem_type == APH_VALUE_BOOL)
        type_error(key, *v, "array of numbers");
    std::vector<float> out;
    if (value_type_is_float(v->elem_type)) {
        out.assign(v->floats.begin(), v->floats.end());
    } else {
        out.reserve(v->ints.size());
        for (int64_t x : v->ints) {
            // u64 elements above INT64_MAX were stored wrapped; undo that before converting.
            out.push_back(v->elem_type == APH_VALUE_U64 ? static_cast<float>(static_cast<uint64_t>(x))
                                                        : static_cast<float>(x));
        }
    }
    return out;
}

std::vector<int32_t> Metadata::get_i32_array(std::string_view key) const {
    const MetaValue* v = find(key);
    if (!v) return {};
    if (!v->is_array() || !value_type_is_integer(v->elem_type)) type_error(key, *v, "array of integers");
    std::vector<int32_t> out;
    out.reserve(v->ints.size());
    bool u64 = v->elem_type == APH_VALUE_U64;
    for (size_t i = 0; i < v->ints.size(); ++i) {
        int64_t x = v->ints[i];
        if ((u64 && (x < 0 || x > std::numeric_limits<int32_t>::max())) || x < std::numeric_limits<int32_t>::min() ||
            x > std::numeric_limits<int32_t>::max()) {
            std::string shown = u64 ? std::to_string(static_cast<uint64_t>(x)) : std::to_string(x);
            throw Error(ErrorKind::BAD_INPUT, "metadata key '" + std::string(key) + "' element " + std::to_string(i) +
                                                  " = " + shown + " does not fit a 32-bit integer");
        }
        out.push_back(static_cast<int32_t>(x));
    }
    return out;
}

// ------------------------------------------------------------------------------------------------------------
// Printing
// ------------------------------------------------------------------------------------------------------------

std::string Metadata::describe(const MetaValue& v, size_t max_chars) {
    if (max_chars < 8) max_chars = 8;
    if (v.type == APH_VALUE_STRING) {
        std::string body;
        append_escaped(body, v.s);
        if (body.size() + 2 > max_chars) {
            body.resize(max_chars - 5);
            body += "...";
        }
        std::string quoted = "\"";
        quoted += body;
        quoted += '"';
        return quoted;
    }
    if (!v.is_array()) return format_scalar(v);

    uint64_t n = v.array_size();
    // Built by appending: GCC 12 raises a false -Wrestrict on chained operator+ with a literal first.
    std::string summary = "[";
    summary += std::to_string(n);
    summary += ' ';
    summary += v.elem_type == APH_VALUE_STRING ? "strings" : value_type_name(v.elem_type);
    summary += ']';
    if (v.elem_type == APH_VALUE_STRING) return summary;
    // Short numeric arrays are shown in full when they fit; long ones as a count.
    std::string out = "[";
    for (uint64_t i = 0; i < n; ++i) {
        MetaValue one;
        one.type = v.elem_type;
        if (value_type_is_float(v.elem_type)) one.f = v.floats[i];
        else if (value_type_is_unsigned(v.elem_type)) one.u = static_cast<uint64_t>(v.ints[i]);
        else one.i = v.ints[i];
        if (i) out += ", ";
        out += format_scalar(one);
        if (out.size() + 1 > max_chars) return summary;
    }
    return out + "]";
}

}  // namespace aprhost::core
