// core/src/dtype.cpp: the GGML dtype table, names and row sizes.
#include <aprhost/core/dtype.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

using namespace aprhost::core;

TEST_CASE("dtype traits match the ggml block layouts", "[dtype]") {
    struct Row {
        uint32_t id;
        const char* name;
        uint32_t elems, bytes;
    };
    const Row rows[] = {
        {0, "f32", 1, 4},       {1, "f16", 1, 2},       {2, "q4_0", 32, 18},    {3, "q4_1", 32, 20},
        {6, "q5_0", 32, 22},    {7, "q5_1", 32, 24},    {8, "q8_0", 32, 34},    {9, "q8_1", 32, 36},
        {10, "q2_K", 256, 84},  {11, "q3_K", 256, 110}, {12, "q4_K", 256, 144}, {13, "q5_K", 256, 176},
        {14, "q6_K", 256, 210}, {15, "q8_K", 256, 292}, {24, "i8", 1, 1},       {25, "i16", 1, 2},
        {26, "i32", 1, 4},      {27, "i64", 1, 8},      {28, "f64", 1, 8},      {30, "bf16", 1, 2},
    };
    for (const auto& r : rows) {
        INFO("id " << r.id);
        auto t = dtype_traits(r.id);
        REQUIRE(t);
        CHECK(uint32_t(t->dtype) == r.id);
        CHECK(std::strcmp(t->name, r.name) == 0);
        CHECK(t->block_elems == r.elems);
        CHECK(t->block_bytes == r.bytes);
        CHECK(std::strcmp(dtype_name(r.id), r.name) == 0);
        auto back = dtype_from_name(r.name);
        REQUIRE(back);
        CHECK(uint32_t(*back) == r.id);
    }
}

TEST_CASE("unknown dtype ids are refused", "[dtype]") {
    for (uint32_t id : {4u, 5u, 16u, 23u, 29u, 31u, 127u, 130u, 0xffffffffu}) {
        INFO("id " << id);
        CHECK_FALSE(dtype_traits(id));
        CHECK(std::strcmp(dtype_name(id), "?") == 0);
        CHECK_FALSE(dtype_row_bytes(id, 32));
    }
}

TEST_CASE("the APR-native dtypes are known", "[dtype]") {
    CHECK(dtype_row_bytes(APH_DTYPE_APR_Q4, 64) == 36u);
    CHECK(dtype_row_bytes(APH_DTYPE_APR_Q8, 64) == 72u);
    CHECK(std::strcmp(dtype_name(APH_DTYPE_APR_Q8), "apr_q8") == 0);
}

TEST_CASE("dtype names are case-insensitive", "[dtype]") {
    CHECK(dtype_from_name("Q4_K") == APH_DTYPE_Q4_K);
    CHECK(dtype_from_name("q4_k") == APH_DTYPE_Q4_K);
    CHECK(dtype_from_name("BF16") == APH_DTYPE_BF16);
    CHECK(dtype_from_name("F32") == APH_DTYPE_F32);
    CHECK_FALSE(dtype_from_name("q4"));
    CHECK_FALSE(dtype_from_name(""));
    CHECK_FALSE(dtype_from_name("q4_0 "));
}

TEST_CASE("row bytes require whole blocks and do not overflow", "[dtype]") {
    CHECK(dtype_row_bytes(APH_DTYPE_F32, 3) == 12u);
    CHECK(dtype_row_bytes(APH_DTYPE_F16, 896) == 1792u);
    CHECK(dtype_row_bytes(APH_DTYPE_Q4_0, 896) == 28u * 18u);
    CHECK(dtype_row_bytes(APH_DTYPE_Q4_K, 256) == 144u);
    CHECK(dtype_row_bytes(APH_DTYPE_Q6_K, 4096) == 16u * 210u);
    CHECK(dtype_row_bytes(APH_DTYPE_Q8_0, 0) == 0u);
    CHECK_FALSE(dtype_row_bytes(APH_DTYPE_Q4_K, 896));  // Qwen2.5-0.5B width: not a K-quant row
    CHECK_FALSE(dtype_row_bytes(APH_DTYPE_Q4_0, 33));
    CHECK_FALSE(dtype_row_bytes(APH_DTYPE_F32, -1));
    // INT64_MAX f64 elements would need ~2^66 bytes.
    CHECK_FALSE(dtype_row_bytes(APH_DTYPE_F64, std::numeric_limits<int64_t>::max()));
}
