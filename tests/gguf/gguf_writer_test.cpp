// core/src/gguf_writer.cpp, read back through the GGUF plugin: every value type, several tensor dtypes,
// alignment, atomic write, usage errors.
#include "gguf_test_support.h"

#include <aprhost/core/dtype.hpp>
#include <aprhost/core/error.hpp>
#include <aprhost/core/gguf_writer.hpp>
#include <aprhost/core/metadata.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <limits>

using namespace aprhost::core;
using namespace gguf_test;

namespace {

MetaValue scalar(aph_value_type t, int64_t i, uint64_t u = 0, double f = 0) {
    MetaValue v;
    v.type = t;
    v.i = i;
    v.u = u;
    v.f = f;
    return v;
}

MetaValue int_array(aph_value_type elem, std::vector<int64_t> xs) {
    MetaValue v;
    v.type = APH_VALUE_ARRAY;
    v.elem_type = elem;
    v.ints = std::move(xs);
    return v;
}

MetaValue float_array(aph_value_type elem, std::vector<double> xs) {
    MetaValue v;
    v.type = APH_VALUE_ARRAY;
    v.elem_type = elem;
    v.floats = std::move(xs);
    return v;
}

// Every scalar type, every array element type, with extreme values.
Metadata all_value_types() {
    Metadata m;
    m.set("t.u8", scalar(APH_VALUE_U8, 0, 255));
    m.set("t.i8", scalar(APH_VALUE_I8, -128));
    m.set("t.u16", scalar(APH_VALUE_U16, 0, 65535));
    m.set("t.i16", scalar(APH_VALUE_I16, -32768));
    m.set("t.u32", scalar(APH_VALUE_U32, 0, 4294967295u));
    m.set("t.i32", scalar(APH_VALUE_I32, std::numeric_limits<int32_t>::min()));
    m.set("t.f32", scalar(APH_VALUE_F32, 0, 0, -0.375));
    m.set("t.bool", scalar(APH_VALUE_BOOL, 1));
    m.set_string("t.string", std::string("utf-8 \xc3\xa9 and a NUL \0 inside", 27));
    m.set_string("t.empty_string", "");
    m.set("t.u64", scalar(APH_VALUE_U64, 0, std::numeric_limits<uint64_t>::max()));
    m.set("t.i64", scalar(APH_VALUE_I64, std::numeric_limits<int64_t>::min()));
    m.set("t.f64", scalar(APH_VALUE_F64, 0, 0, 1.0 / 3.0));
    m.set("a.u8", int_array(APH_VALUE_U8, {0, 1, 255}));
    m.set("a.i8", int_array(APH_VALUE_I8, {-128, 0, 127}));
    m.set("a.u16", int_array(APH_VALUE_U16, {0, 65535}));
    m.set("a.i16", int_array(APH_VALUE_I16, {-32768, 32767}));
    m.set("a.u32", int_array(APH_VALUE_U32, {0, 4294967295}));
    m.set("a.i32", int_array(APH_VALUE_I32, {std::numeric_limits<int32_t>::min(), -1, 7}));
    m.set("a.bool", int_array(APH_VALUE_BOOL, {1, 0, 1}));
    m.set("a.u64", int_array(APH_VALUE_U64, {0, static_cast<int64_t>(std::numeric_limits<uint64_t>::max())}));
    m.set("a.i64", int_array(APH_VALUE_I64, {std::numeric_limits<int64_t>::min(), 5}));
    m.set("a.f32", float_array(APH_VALUE_F32, {0.5, -1.25, 3e38}));
    m.set("a.f64", float_array(APH_VALUE_F64, {1e-300, -2.0}));
    m.set("a.empty", int_array(APH_VALUE_I32, {}));
    m.set_string_array("a.string", {"", "a", std::string("x\0y", 3), std::string(1000, 'q')});
    m.set_string("general.architecture", "llama");
    return m;
}

// The bytes a tensor is filled with: depends on the tensor index and position.
uint8_t pattern(size_t tensor, size_t i) { return static_cast<uint8_t>(tensor * 31 + i * 13 + (i >> 8)); }

Metadata read_metadata(void* model) {
    const auto& vt = gguf_plugin();
    Metadata m;
    for (uint64_t i = 0; i < vt.metadata_count(model); ++i) {
        aph_metadata_entry e{};
        aph_error err{};
        REQUIRE(vt.metadata_get(model, i, &e, &err) == APH_OK);
        m.add_entry(e);
    }
    return m;
}

void check_same_value(const std::string& key, const MetaValue& a, const MetaValue& b) {
    INFO("key " << key);
    REQUIRE(a.type == b.type);
    switch (a.type) {
    case APH_VALUE_STRING: CHECK(a.s == b.s); break;
    case APH_VALUE_F32: CHECK(static_cast<float>(a.f) == static_cast<float>(b.f)); break;
    case APH_VALUE_F64: CHECK(a.f == b.f); break;
    case APH_VALUE_ARRAY:
        REQUIRE(a.elem_type == b.elem_type);
        CHECK(a.strings == b.strings);
        CHECK(a.ints == b.ints);
        if (a.elem_type == APH_VALUE_F32) {
            REQUIRE(a.floats.size() == b.floats.size());
            for (size_t i = 0; i < a.floats.size(); ++i)
                CHECK(static_cast<float>(a.floats[i]) == static_cast<float>(b.floats[i]));
        } else {
            CHECK(a.floats == b.floats);
        }
        break;
    default:
        if (value_type_is_unsigned(a.type)) CHECK(a.u == b.u);
        else CHECK(a.i == b.i);
    }
}

}  // namespace

TEST_CASE("writer -> plugin round trip of every value type and several dtypes", "[gguf][writer]") {
    const uint32_t alignment = GENERATE(32u, 64u);
    Metadata meta = all_value_types();
    GgufWriter w(meta, alignment);

    struct Spec {
        const char* name;
        aph_dtype dtype;
        std::vector<int64_t> ne;
    };
    const std::vector<Spec> specs = {
        {"token_embd.weight", APH_DTYPE_Q8_0, {64, 10}},  {"blk.0.attn_norm.weight", APH_DTYPE_F32, {7}},
        {"blk.0.attn_q.weight", APH_DTYPE_Q4_0, {32, 3}}, {"blk.0.ffn_down.weight", APH_DTYPE_Q4_K, {256, 2, 1}},
        {"blk.0.ffn_up.weight", APH_DTYPE_Q6_K, {512, 1}}, {"blk.0.attn_v.weight", APH_DTYPE_F16, {5, 3, 2, 2}},
        {"blk.0.x.weight", APH_DTYPE_BF16, {9}},           {"pos", APH_DTYPE_I32, {3}},
        {"q5", APH_DTYPE_Q5_1, {32, 2}},
    };
    std::vector<uint64_t> sizes;
    for (size_t k = 0; k < specs.size(); ++k) {
        w.add_tensor(specs[k].name, specs[k].dtype, specs[k].ne, [k](std::span<uint8_t> out) {
            for (size_t i = 0; i < out.size(); ++i) out[i] = pattern(k, i);
        });
        uint64_t n = 1;
        for (int64_t d : specs[k].ne) n *= uint64_t(d);
        auto t = dtype_traits(specs[k].dtype);
        sizes.push_back(n / t->block_elems * t->block_bytes);
    }
    uint64_t total = 0;
    for (uint64_t s : sizes) total += s;
    CHECK(w.total_tensor_bytes() == total);

    std::string path = temp_path("roundtrip");
    std::vector<uint64_t> progress;
    w.write(path, [&](uint64_t done, uint64_t all) {
        CHECK(all == total);
        progress.push_back(done);
    });
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    REQUIRE(progress.size() == specs.size());
    CHECK(progress.back() == total);

    Opened m(path);
    REQUIRE(m.message == "");
    REQUIRE(m.ok());
    const auto& vt = gguf_plugin();
    REQUIRE(vt.describe);
    CHECK(std::string(vt.describe(m.model)) ==
          "GGUF v3, " + std::to_string(specs.size()) + " tensors, alignment " + std::to_string(alignment));

    // Metadata: every key back with the same type and value (general.alignment added when not the default).
    Metadata back = read_metadata(m.model);
    if (alignment != 32) {
        CHECK(back.get_int("general.alignment") == alignment);
        CHECK(back.find("general.alignment")->type == APH_VALUE_U32);
    }
    CHECK(back.size() == meta.size() + (alignment != 32 ? 1 : 0));
    for (const auto& [key, value] : meta.entries()) {
        const MetaValue* b = back.find(key);
        REQUIRE(b);
        check_same_value(key, value, *b);
    }

    // Tensors: same order, names, dtypes, dims, sizes, bytes; data aligned relative to the first tensor.
    REQUIRE(vt.tensor_count(m.model) == specs.size());
    const uint8_t* first = nullptr;
    for (size_t k = 0; k < specs.size(); ++k) {
        INFO("tensor " << specs[k].name);
        aph_tensor_info t{};
        aph_error err{};
        REQUIRE(vt.tensor_get(m.model, k, &t, &err) == APH_OK);
        CHECK(std::string(t.name.data, t.name.size) == specs[k].name);
        CHECK(t.dtype == uint32_t(specs[k].dtype));
        REQUIRE(t.n_dims == specs[k].ne.size());
        for (size_t d = 0; d < APH_MAX_DIMS; ++d)
            CHECK(t.ne[d] == (d < specs[k].ne.size() ? specs[k].ne[d] : 1));
        REQUIRE(t.size == sizes[k]);
        REQUIRE(t.data);
        const auto* p = static_cast<const uint8_t*>(t.data);
        if (!first) first = p;
        CHECK((p - first) % alignment == 0);
        size_t bad = 0;
        for (size_t i = 0; i < t.size; ++i) bad += p[i] != pattern(k, i);
        CHECK(bad == 0);
    }
    aph_tensor_info t{};
    aph_error err{};
    CHECK(vt.tensor_get(m.model, specs.size(), &t, &err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("out of range") != std::string::npos);
    aph_metadata_entry e{};
    CHECK(vt.metadata_get(m.model, 1u << 20, &e, &err) == APH_STATUS_INVALID_ARGUMENT);
    std::filesystem::remove(path);
}

TEST_CASE("writer: file with no tensors and no metadata", "[gguf][writer]") {
    GgufWriter w(Metadata{});
    std::string path = temp_path("empty");
    w.write(path);
    Opened m(path);
    REQUIRE(m.message == "");
    CHECK(gguf_plugin().metadata_count(m.model) == 0);
    CHECK(gguf_plugin().tensor_count(m.model) == 0);
    std::filesystem::remove(path);
}

TEST_CASE("writer: usage errors", "[gguf][writer]") {
    CHECK_THROWS_WITH(GgufWriter(Metadata{}, 3), Catch::Contains("alignment 3"));
    CHECK_THROWS_AS(GgufWriter(Metadata{}, 0), Error);

    GgufWriter w(Metadata{});
    auto nop = [](std::span<uint8_t>) {};
    w.add_tensor("a", APH_DTYPE_F32, {4}, nop);
    auto usage_error = [&](auto&& f, const char* what) {
        try {
            f();
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::USAGE);
            CHECK_THAT(e.what(), Catch::Contains(what));
            return;
        }
        FAIL("no error, expected " << what);
    };
    usage_error([&] { w.add_tensor("a", APH_DTYPE_F32, {4}, nop); }, "duplicate tensor name 'a'");
    usage_error([&] { w.add_tensor("b", APH_DTYPE_Q4_0, {33}, nop); }, "not a multiple");
    usage_error([&] { w.add_tensor("c", APH_DTYPE_F32, {}, nop); }, "0 dims");
    usage_error([&] { w.add_tensor("d", APH_DTYPE_F32, {1, 1, 1, 1, 1}, nop); }, "5 dims");
    usage_error([&] { w.add_tensor("e", APH_DTYPE_F32, {0}, nop); }, "<= 0");
    usage_error([&] { w.add_tensor("f", static_cast<aph_dtype>(99), {4}, nop); }, "unknown dtype");
    usage_error([&] { w.add_tensor("g", APH_DTYPE_F32, {int64_t(1) << 62, 4}, nop); }, "overflows");
    CHECK(w.total_tensor_bytes() == 16);

    // I/O failure: nothing left behind.
    std::string bad_path = std::string(APRHOST_TEST_DATA_DIR) + "/no-such-dir/x.gguf";
    try {
        w.write(bad_path);
        FAIL("write into a missing directory succeeded");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::BAD_INPUT);
        CHECK_THAT(e.what(), Catch::Contains("no-such-dir"));
    }
    CHECK_FALSE(std::filesystem::exists(bad_path));
}

TEST_CASE("writer: metadata GGUF cannot hold is refused before any file is created", "[gguf][writer]") {
    Metadata nested;
    MetaValue v;
    v.type = APH_VALUE_ARRAY;
    v.elem_type = APH_VALUE_ARRAY;
    nested.set("nested", v);
    Metadata empty_key;
    empty_key.set_u32("", 1);
    for (const Metadata* m : {&nested, &empty_key}) {
        std::string path = temp_path("badmeta");
        CHECK_THROWS_AS(GgufWriter(*m).write(path), Error);
        CHECK_FALSE(std::filesystem::exists(path));
        CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    }
}

TEST_CASE("writer: a fill callback that throws leaves no file", "[gguf][writer]") {
    GgufWriter w(Metadata{});
    w.add_tensor("a", APH_DTYPE_F32, {4}, [](std::span<uint8_t>) { throw std::runtime_error("fill failed"); });
    std::string path = temp_path("throws");
    CHECK_THROWS_WITH(w.write(path), "fill failed");
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}
