// Model metadata as owned C++ values, keyed by GGUF key names. Filled from a format plugin's aph_metadata_entry
// list (copying, so it outlives the plugin handle) or built by hand (tests, the GGUF writer, `synth`).
#pragma once

#include <aprhost/abi.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aprhost::core {

struct MetaValue {
    aph_value_type type = APH_VALUE_U32;
    aph_value_type elem_type = APH_VALUE_U8;  // arrays only
    int64_t i = 0;                            // signed ints and bool (0/1)
    uint64_t u = 0;                           // unsigned ints
    double f = 0;                             // f32 / f64
    std::string s;                            // string
    std::vector<int64_t> ints;                // integer / bool arrays (u64 values above INT64_MAX wrap)
    std::vector<double> floats;               // f32 / f64 arrays
    std::vector<std::string> strings;         // string arrays

    bool is_array() const { return type == APH_VALUE_ARRAY; }
    uint64_t array_size() const;
};

// True for the integer value types (u8..i64) and bool.
bool value_type_is_integer(aph_value_type t);
bool value_type_is_unsigned(aph_value_type t);
const char* value_type_name(aph_value_type t);

class Metadata {
public:
    // Copies one plugin entry. Throws core::Error(BAD_INPUT) on inconsistent entries.
    void add_entry(const aph_metadata_entry& e);

    void set(std::string key, MetaValue v);
    void set_string(std::string key, std::string v);
    void set_u32(std::string key, uint32_t v);
    void set_i32(std::string key, int32_t v);
    void set_f32(std::string key, float v);
    void set_bool(std::string key, bool v);
    void set_string_array(std::string key, std::vector<std::string> v);
    void set_f32_array(std::string key, std::vector<float> v);
    void set_i32_array(std::string key, std::vector<int32_t> v);

    const MetaValue* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Typed getters: nullopt when absent; core::Error(BAD_INPUT) naming the key when the type does not fit.
    std::optional<std::string> get_string(std::string_view key) const;
    std::optional<int64_t> get_int(std::string_view key) const;  // any integer type or bool
    std::optional<double> get_float(std::string_view key) const; // f32/f64 or any integer
    std::optional<bool> get_bool(std::string_view key) const;
    // Array getters return an empty vector when absent.
    const std::vector<std::string>& get_string_array(std::string_view key) const;
    std::vector<float> get_f32_array(std::string_view key) const;
    std::vector<int32_t> get_i32_array(std::string_view key) const;

    // Entries in key order.
    const std::map<std::string, MetaValue, std::less<>>& entries() const { return entries_; }
    size_t size() const { return entries_.size(); }

    // Short printable form of a value ("151936", "\"qwen2\"", "[151936 strings]").
    static std::string describe(const MetaValue& v, size_t max_chars = 60);

private:
    std::map<std::string, MetaValue, std::less<>> entries_;
};

}  // namespace aprhost::core
