// core/src/metadata.cpp: copying plugin entries, typed getters and their error messages, describe().
#include <aprhost/core/error.hpp>
#include <aprhost/core/metadata.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

using namespace aprhost::core;

namespace {

aph_metadata_entry entry(const char* key, aph_value_type type) {
    aph_metadata_entry e{};
    e.key = aph_string{key, std::strlen(key)};
    e.type = type;
    e.count = 1;
    return e;
}

// The message a type mismatch must produce, exactly.
std::string type_message(const Metadata& m, const char* key, const char* expected, void (*call)(const Metadata&)) {
    try {
        call(m);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::BAD_INPUT);
        return e.what();
    }
    FAIL("no error for key " << key << " expected " << expected);
    return {};
}

}  // namespace

TEST_CASE("typed getters return values of fitting types", "[metadata]") {
    Metadata m;
    m.set_string("general.architecture", "qwen2");
    m.set_u32("qwen2.block_count", 24);
    m.set_i32("neg", -5);
    m.set_f32("eps", 1e-6f);
    m.set_bool("add_bos", true);
    m.set_string_array("tokens", {"a", "b"});
    m.set_f32_array("scores", {0.5f, -1.0f});
    m.set_i32_array("types", {1, 2, 3});

    CHECK(m.size() == 8);
    CHECK(m.get_string("general.architecture") == "qwen2");
    CHECK(m.get_int("qwen2.block_count") == 24);
    CHECK(m.get_int("neg") == -5);
    CHECK(m.get_int("add_bos") == 1);  // bool counts as an integer
    CHECK(m.get_float("eps").value() == Approx(1e-6).epsilon(1e-6));
    CHECK(m.get_float("qwen2.block_count") == 24.0);  // integers widen to float
    CHECK(m.get_bool("add_bos") == true);
    CHECK(m.get_string_array("tokens") == std::vector<std::string>{"a", "b"});
    CHECK(m.get_f32_array("scores") == std::vector<float>{0.5f, -1.0f});
    CHECK(m.get_f32_array("types") == std::vector<float>{1.f, 2.f, 3.f});
    CHECK(m.get_i32_array("types") == std::vector<int32_t>{1, 2, 3});
    CHECK(m.has("eps"));
    CHECK_FALSE(m.has("missing"));

    // Absent keys: nullopt / empty.
    CHECK_FALSE(m.get_string("missing"));
    CHECK_FALSE(m.get_int("missing"));
    CHECK_FALSE(m.get_float("missing"));
    CHECK_FALSE(m.get_bool("missing"));
    CHECK(m.get_string_array("missing").empty());
    CHECK(m.get_f32_array("missing").empty());
    CHECK(m.get_i32_array("missing").empty());
}

TEST_CASE("type mismatches name the key, the type and the expected type", "[metadata]") {
    Metadata m;
    m.set_string("s", "x");
    m.set_u32("u", 1);
    m.set_f32("f", 1.0f);
    m.set_string_array("sa", {"x"});
    m.set_i32_array("ia", {1});

    CHECK(type_message(m, "u", "string", [](const Metadata& x) { (void)x.get_string("u"); }) ==
          "metadata key 'u' has type u32, expected string");
    CHECK(type_message(m, "s", "integer", [](const Metadata& x) { (void)x.get_int("s"); }) ==
          "metadata key 's' has type string, expected integer");
    CHECK(type_message(m, "f", "integer", [](const Metadata& x) { (void)x.get_int("f"); }) ==
          "metadata key 'f' has type f32, expected integer");
    CHECK(type_message(m, "s", "number", [](const Metadata& x) { (void)x.get_float("s"); }) ==
          "metadata key 's' has type string, expected number");
    CHECK(type_message(m, "u", "bool", [](const Metadata& x) { (void)x.get_bool("u"); }) ==
          "metadata key 'u' has type u32, expected bool");
    CHECK(type_message(m, "ia", "array of string", [](const Metadata& x) { (void)x.get_string_array("ia"); }) ==
          "metadata key 'ia' has type array of i32, expected array of string");
    CHECK(type_message(m, "sa", "array of numbers", [](const Metadata& x) { (void)x.get_f32_array("sa"); }) ==
          "metadata key 'sa' has type array of string, expected array of numbers");
    CHECK(type_message(m, "s", "array of integers", [](const Metadata& x) { (void)x.get_i32_array("s"); }) ==
          "metadata key 's' has type string, expected array of integers");
}

TEST_CASE("integer range checks", "[metadata]") {
    Metadata m;
    MetaValue big;
    big.type = APH_VALUE_U64;
    big.u = std::numeric_limits<uint64_t>::max();
    m.set("big", big);
    CHECK_THROWS_WITH(m.get_int("big"), Catch::Contains("does not fit"));
    CHECK(m.get_float("big") == Approx(1.8446744073709552e19));

    MetaValue arr;
    arr.type = APH_VALUE_ARRAY;
    arr.elem_type = APH_VALUE_I64;
    arr.ints = {1, int64_t(1) << 40};
    m.set("wide", arr);
    CHECK_THROWS_WITH(m.get_i32_array("wide"), Catch::Contains("element 1") && Catch::Contains("32-bit"));

    MetaValue u64arr;
    u64arr.type = APH_VALUE_ARRAY;
    u64arr.elem_type = APH_VALUE_U64;
    u64arr.ints = {static_cast<int64_t>(std::numeric_limits<uint64_t>::max())};  // stored wrapped
    m.set("u64arr", u64arr);
    CHECK_THROWS_WITH(m.get_i32_array("u64arr"), Catch::Contains("18446744073709551615"));
}

TEST_CASE("add_entry copies scalars from their little-endian bytes", "[metadata]") {
    Metadata m;
    auto e = entry("i8", APH_VALUE_I8);
    e.scalar.u64 = 0xff;  // only the low byte set: still -1
    m.add_entry(e);
    CHECK(m.get_int("i8") == -1);

    e = entry("i16", APH_VALUE_I16);
    e.scalar.i64 = -300;  // sign-extended form works too
    m.add_entry(e);
    CHECK(m.get_int("i16") == -300);

    e = entry("u16", APH_VALUE_U16);
    e.scalar.u64 = 0xffff;
    m.add_entry(e);
    CHECK(m.get_int("u16") == 65535);

    e = entry("f32", APH_VALUE_F32);
    float f = 0.25f;
    std::memcpy(&e.scalar, &f, 4);
    m.add_entry(e);
    CHECK(m.get_float("f32") == 0.25);

    e = entry("f64", APH_VALUE_F64);
    e.scalar.f64 = -2.5;
    m.add_entry(e);
    CHECK(m.get_float("f64") == -2.5);

    e = entry("b", APH_VALUE_BOOL);
    e.scalar.u64 = 1;
    m.add_entry(e);
    CHECK(m.get_bool("b") == true);

    e = entry("i64", APH_VALUE_I64);
    e.scalar.i64 = std::numeric_limits<int64_t>::min();
    m.add_entry(e);
    CHECK(m.get_int("i64") == std::numeric_limits<int64_t>::min());

    const char text[] = "he\0llo";
    e = entry("s", APH_VALUE_STRING);
    e.str = aph_string{text, 6};
    m.add_entry(e);
    CHECK(m.get_string("s") == std::string(text, 6));
}

TEST_CASE("add_entry copies arrays, also from unaligned data", "[metadata]") {
    Metadata m;
    // i32 values 1, -2 starting at an odd address.
    uint8_t raw[9] = {0, 1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff};
    auto e = entry("ints", APH_VALUE_ARRAY);
    e.elem_type = APH_VALUE_I32;
    e.count = 2;
    e.data = raw + 1;
    m.add_entry(e);
    CHECK(m.get_i32_array("ints") == std::vector<int32_t>{1, -2});
    CHECK(m.find("ints")->array_size() == 2);

    float fl[2] = {1.5f, -0.5f};
    e = entry("floats", APH_VALUE_ARRAY);
    e.elem_type = APH_VALUE_F32;
    e.count = 2;
    e.data = fl;
    m.add_entry(e);
    CHECK(m.get_f32_array("floats") == std::vector<float>{1.5f, -0.5f});

    aph_string strs[2] = {{"ab", 2}, {"", 0}};
    e = entry("strs", APH_VALUE_ARRAY);
    e.elem_type = APH_VALUE_STRING;
    e.count = 2;
    e.strings = strs;
    m.add_entry(e);
    CHECK(m.get_string_array("strs") == std::vector<std::string>{"ab", ""});

    e = entry("empty", APH_VALUE_ARRAY);
    e.elem_type = APH_VALUE_U8;
    e.count = 0;
    m.add_entry(e);
    CHECK(m.get_i32_array("empty").empty());
    CHECK(m.find("empty")->is_array());
}

TEST_CASE("add_entry refuses inconsistent entries", "[metadata]") {
    Metadata m;
    auto e = entry("nested", APH_VALUE_ARRAY);
    e.elem_type = APH_VALUE_ARRAY;
    CHECK_THROWS_WITH(m.add_entry(e), Catch::Contains("nested") && Catch::Contains("arrays of arrays"));

    e = entry("t", static_cast<aph_value_type>(13));
    CHECK_THROWS_WITH(m.add_entry(e), Catch::Contains("unknown value type 13"));

    e = entry("nulldata", APH_VALUE_ARRAY);
    e.elem_type = APH_VALUE_I32;
    e.count = 4;
    CHECK_THROWS_AS(m.add_entry(e), Error);

    e = entry("nullstr", APH_VALUE_STRING);
    e.str = aph_string{nullptr, 3};
    CHECK_THROWS_AS(m.add_entry(e), Error);
    CHECK(m.size() == 0);
}

TEST_CASE("describe gives short printable forms", "[metadata]") {
    Metadata m;
    m.set_u32("n", 151936);
    m.set_string("s", "qwen2");
    m.set_string("nl", "a\nb");
    m.set_bool("b", false);
    m.set_f32("eps", 1e-6f);
    m.set_i32_array("small", {1, -2, 3});
    std::vector<int32_t> many(1000, 7);
    m.set_i32_array("many", many);
    m.set_string_array("tokens", std::vector<std::string>(151936, "x"));
    m.set_string("long", std::string(500, 'z'));

    CHECK(Metadata::describe(*m.find("n")) == "151936");
    CHECK(Metadata::describe(*m.find("s")) == "\"qwen2\"");
    CHECK(Metadata::describe(*m.find("nl")) == "\"a\\nb\"");
    CHECK(Metadata::describe(*m.find("b")) == "false");
    CHECK(Metadata::describe(*m.find("eps")) == "1e-06");
    CHECK(Metadata::describe(*m.find("small")) == "[1, -2, 3]");
    CHECK(Metadata::describe(*m.find("many")) == "[1000 i32]");
    CHECK(Metadata::describe(*m.find("tokens")) == "[151936 strings]");
    std::string lng = Metadata::describe(*m.find("long"), 60);
    CHECK(lng.size() <= 60);
    CHECK(lng.find("...") != std::string::npos);
}
