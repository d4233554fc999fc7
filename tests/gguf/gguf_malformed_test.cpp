// The GGUF plugin against hostile input: a corpus of malformed files generated from a small valid one. Every case
// must fail with a non-OK status and a non-empty one-line message naming the problem, and never crash (this test
// is also run under ASan/UBSan: -DAPRHOST_ASAN=ON).
#include "gguf_test_support.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>

using namespace gguf_test;

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

struct Case {
    std::string name;
    std::function<void(RawFile&)> mutate;
    std::string expected;  // substring the message must contain
};

// Opens bytes through the plugin; returns the result for inspection.
struct Result {
    aph_status status;
    std::string message;
};

Result open_bytes(const std::vector<uint8_t>& bytes, const std::string& stem) {
    std::string path = temp_path(stem);
    write_bytes(path, bytes);
    Result r;
    {
        Opened m(path);
        r.status = m.status;
        r.message = m.message;
        if (m.ok()) {
            // A file that opens must serve every entry without crashing (ASan checks the pointers).
            const auto& vt = gguf_plugin();
            for (uint64_t i = 0; i < vt.metadata_count(m.model); ++i) {
                aph_metadata_entry e{};
                aph_error err{};
                REQUIRE(vt.metadata_get(m.model, i, &e, &err) == APH_OK);
            }
            for (uint64_t i = 0; i < vt.tensor_count(m.model); ++i) {
                aph_tensor_info t{};
                aph_error err{};
                REQUIRE(vt.tensor_get(m.model, i, &t, &err) == APH_OK);
                volatile uint8_t sink = 0;
                const auto* p = static_cast<const uint8_t*>(t.data);
                for (uint64_t k = 0; k < t.size; ++k) sink = sink ^ p[k];  // touch every byte
                (void)sink;
            }
        }
    }
    std::filesystem::remove(path);
    return r;
}

void check_refused(const Result& r, const std::string& expected) {
    INFO("message: " << r.message);
    CHECK(r.status != APH_OK);
    CHECK(r.status != APH_STATUS_INTERNAL);  // a hostile file is BAD_FORMAT, not a crash caught late
    CHECK_FALSE(r.message.empty());
    CHECK(r.message.find('\n') == std::string::npos);
    CHECK(r.message.rfind("GGUF: ", 0) == 0);
    if (!expected.empty()) CHECK_THAT(r.message, Catch::Contains(expected));
}

RawKv kv_raw(const std::string& key, uint32_t type, std::vector<uint8_t> payload) {
    return RawKv{key, type, std::move(payload), {}};
}

std::vector<Case> corpus() {
    std::vector<Case> c;
    auto add = [&](std::string name, std::function<void(RawFile&)> f, std::string expected) {
        c.push_back({std::move(name), std::move(f), std::move(expected)});
    };
    // Header.
    add("wrong magic", [](RawFile& f) { f.magic = "GGML"; }, "bad magic 'GGML'");
    add("version 1", [](RawFile& f) { f.version = 1; }, "version 1 is obsolete");
    add("version 99", [](RawFile& f) { f.version = 99; }, "unsupported version 99");
    add("version 0", [](RawFile& f) { f.version = 0; }, "unsupported version 0");
    add("big-endian v3", [](RawFile& f) { f.version = 0x03000000u; }, "big-endian");
    add("huge tensor count", [](RawFile& f) { f.tensor_count_override = kU64Max; }, "tensor count");
    add("tensor count 2^40", [](RawFile& f) { f.tensor_count_override = uint64_t(1) << 40; }, "tensor count");
    add("huge kv count", [](RawFile& f) { f.kv_count_override = kU64Max; }, "key/value count");
    add("kv count 2^32", [](RawFile& f) { f.kv_count_override = uint64_t(1) << 32; }, "key/value count");
    add("one kv too many", [](RawFile& f) { f.kv_count_override = f.kvs.size() + 1; }, "");
    add("one tensor too many", [](RawFile& f) { f.tensor_count_override = f.tensors.size() + 1; }, "");

    // Key/values.
    add("key length past EOF", [](RawFile& f) { f.kvs[1].key_length_override = uint64_t(1) << 62; },
        "key 1 at offset 69 has length 4611686018427387904");
    add("key length u64 max", [](RawFile& f) { f.kvs[0].key_length_override = kU64Max; }, "key 0");
    add("string value length u64 max", [](RawFile& f) {
        RawKv kv = kv_raw("general.name", APH_VALUE_STRING, {});
        put_u64(kv.payload, kU64Max);
        f.kvs.push_back(kv);
    }, "key 'general.name' string value");
    add("string value one byte past EOF", [](RawFile& f) {
        RawKv kv = kv_raw("general.name", APH_VALUE_STRING, {});
        put_u64(kv.payload, 100000);
        f.kvs.push_back(kv);
    }, "bytes are left");
    add("empty key", [](RawFile& f) { f.kvs.push_back(kv_u32("", 1)); }, "is empty");
    add("duplicate key", [](RawFile& f) { f.kvs.push_back(kv_u32("llama.block_count", 3)); },
        "duplicate key 'llama.block_count'");
    add("unknown value type", [](RawFile& f) { f.kvs.push_back(kv_raw("k", 13, {0, 0, 0, 0})); },
        "key 'k' has unknown value type 13");
    add("value type u32 max", [](RawFile& f) { f.kvs.push_back(kv_raw("k", 0xffffffffu, {})); },
        "unknown value type 4294967295");
    add("bool value 2", [](RawFile& f) { f.kvs.push_back(kv_raw("b", APH_VALUE_BOOL, {2})); }, "must be 0 or 1");
    add("array of arrays", [](RawFile& f) {
        RawKv kv = kv_raw("nested", APH_VALUE_ARRAY, {});
        put_u32(kv.payload, APH_VALUE_ARRAY);
        put_u64(kv.payload, 1);
        put_u32(kv.payload, APH_VALUE_U8);
        put_u64(kv.payload, 1);
        kv.payload.push_back(0);
        f.kvs.push_back(kv);
    }, "array of arrays");
    add("array of unknown type", [](RawFile& f) {
        RawKv kv = kv_raw("arr", APH_VALUE_ARRAY, {});
        put_u32(kv.payload, 42);
        put_u64(kv.payload, 0);
        f.kvs.push_back(kv);
    }, "array of unknown value type 42");
    add("numeric array count overflows", [](RawFile& f) {
        RawKv kv = kv_raw("arr", APH_VALUE_ARRAY, {});
        put_u32(kv.payload, APH_VALUE_U64);
        put_u64(kv.payload, uint64_t(1) << 61);  // * 8 bytes overflows u64
        f.kvs.push_back(kv);
    }, "claims 2305843009213693952 elements");
    add("numeric array past EOF", [](RawFile& f) {
        RawKv kv = kv_raw("arr", APH_VALUE_ARRAY, {});
        put_u32(kv.payload, APH_VALUE_I32);
        put_u64(kv.payload, 1000000);
        f.kvs.push_back(kv);
    }, "claims 1000000 elements");
    add("string array count huge", [](RawFile& f) {
        RawKv kv = kv_raw("tokenizer.ggml.merges", APH_VALUE_ARRAY, {});
        put_u32(kv.payload, APH_VALUE_STRING);
        put_u64(kv.payload, kU64Max);
        f.kvs.push_back(kv);
    }, "claims 18446744073709551615 strings");
    add("string array element past EOF", [](RawFile& f) {
        RawKv kv = kv_raw("tokenizer.ggml.merges", APH_VALUE_ARRAY, {});
        put_u32(kv.payload, APH_VALUE_STRING);
        put_u64(kv.payload, 2);
        put_str(kv.payload, "a b");
        put_u64(kv.payload, uint64_t(1) << 40);
        f.kvs.push_back(kv);
    }, "string element");
    add("bool array element 7", [](RawFile& f) {
        RawKv kv = kv_raw("flags", APH_VALUE_ARRAY, {});
        put_u32(kv.payload, APH_VALUE_BOOL);
        put_u64(kv.payload, 2);
        kv.payload.push_back(1);
        kv.payload.push_back(7);
        f.kvs.push_back(kv);
    }, "bool element 1");
    add("alignment 0", [](RawFile& f) { f.kvs.push_back(kv_u32("general.alignment", 0)); },
        "general.alignment = 0 is not a power of two");
    add("alignment 3", [](RawFile& f) { f.kvs.push_back(kv_u32("general.alignment", 3)); },
        "general.alignment = 3 is not a power of two");
    add("alignment as i32", [](RawFile& f) { f.kvs.push_back(kv_raw("general.alignment", APH_VALUE_I32, {32, 0, 0, 0})); },
        "expected u32");

    // Tensor infos.
    add("empty tensor name", [](RawFile& f) { f.tensors[1].name = ""; }, "empty name");
    add("tensor name past EOF", [](RawFile& f) { f.tensors[2].name_length_override = 1000; },
        "tensor info 2 name at offset");
    add("tensor name length u64 max", [](RawFile& f) { f.tensors[0].name_length_override = kU64Max; },
        "tensor info 0 name");
    add("n_dims 0", [](RawFile& f) { f.tensors[0].dims.clear(); f.tensors[0].n_dims_override = 0; },
        "tensor 'a.weight' has n_dims 0");
    add("n_dims 5", [](RawFile& f) { f.tensors[0].dims = {8, 2, 1, 1, 1}; }, "n_dims 5");
    add("n_dims u32 max", [](RawFile& f) { f.tensors[0].n_dims_override = 0xffffffffu; }, "n_dims 4294967295");
    add("dim 0", [](RawFile& f) { f.tensors[0].dims = {8, 0}; }, "dim 1 = 0");
    add("dims product overflows int64", [](RawFile& f) { f.tensors[0].dims = {uint64_t(1) << 32, uint64_t(1) << 32}; },
        "overflows int64");
    add("dim above int64 max", [](RawFile& f) { f.tensors[0].dims = {uint64_t(1) << 63}; }, "overflows int64");
    add("dims product exactly 2^63", [](RawFile& f) { f.tensors[0].dims = {uint64_t(1) << 32, uint64_t(1) << 31}; },
        "overflows int64");
    add("huge dims, size past EOF", [](RawFile& f) { f.tensors[0].dims = {uint64_t(1) << 30, uint64_t(1) << 30}; },
        "extends past end of file");
    add("unknown dtype 4", [](RawFile& f) { f.tensors[0].type = 4; }, "unknown or unsupported type id 4");
    add("unknown dtype 99", [](RawFile& f) { f.tensors[0].type = 99; }, "type id 99");
    add("row not whole blocks", [](RawFile& f) { f.tensors[1].dims = {33, 2}; }, "not a multiple of the block size 32");
    add("offset past EOF", [](RawFile& f) { f.tensors[2].offset = uint64_t(1) << 40; }, "extends past end of file");
    add("offset overflows with data start", [](RawFile& f) { f.tensors[2].offset = kU64Max - 31; },
        "extends past end of file");
    add("data one byte short", [](RawFile& f) { f.data_bytes -= 1; }, "tensor 'c.weight' data");
    add("misaligned offset", [](RawFile& f) { f.tensors[1].offset = 72; }, "offset 72 is not a multiple of the alignment 32");
    add("misaligned for alignment 64", [](RawFile& f) {
        f.kvs.push_back(kv_u32("general.alignment", 64));
        f.pad_to = 64;
        f.tensors[2].offset = 160;  // a multiple of 32, not of 64
        f.data_bytes = 260;
    }, "offset 160 is not a multiple of the alignment 64");
    add("overlapping tensors", [](RawFile& f) { f.tensors[1].offset = 32; }, "overlaps tensor 'a.weight'");
    add("identical offsets", [](RawFile& f) { f.tensors[2].offset = 64; }, "overlaps");
    add("duplicate tensor name", [](RawFile& f) { f.tensors[2].name = "a.weight"; }, "duplicate tensor name 'a.weight'");
    add("control chars in name", [](RawFile& f) { f.tensors[0].name = "bad\nname"; f.tensors[0].dims = {8, 0}; },
        "bad\\x0aname");
    return c;
}

}  // namespace

TEST_CASE("the valid base file opens", "[gguf][malformed]") {
    RawFile f = valid_raw_file();
    Result r = open_bytes(f.bytes(), "base");
    INFO(r.message);
    REQUIRE(r.status == APH_OK);
}

TEST_CASE("malformed corpus: each case is refused with a one-line message", "[gguf][malformed]") {
    auto cases = corpus();
    CHECK(cases.size() > 40);
    for (const Case& c : cases) {
        INFO("case: " << c.name);
        RawFile f = valid_raw_file();
        c.mutate(f);
        check_refused(open_bytes(f.bytes(), "corpus"), c.expected);
    }
}

TEST_CASE("truncation at every byte offset is refused", "[gguf][malformed]") {
    // Every proper prefix of a valid writer-shaped file: the header, key/value and tensor-info region and the data
    // section (where the last tensors no longer fit).
    const std::vector<uint8_t> full = valid_raw_file().bytes();
    REQUIRE(open_bytes(full, "full").status == APH_OK);
    // One file rewritten in place keeps this fast (a few hundred opens).
    std::string path = temp_path("trunc");
    size_t refused = 0;
    for (size_t len = 0; len < full.size(); ++len) {
        INFO("prefix length " << len << " of " << full.size());
        write_bytes(path, std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len)));
        Opened m(path);
        CHECK(m.status != APH_OK);
        CHECK(m.status != APH_STATUS_INTERNAL);
        CHECK_FALSE(m.message.empty());
        CHECK(m.message.find('\n') == std::string::npos);
        refused += m.status != APH_OK;
    }
    CHECK(refused == full.size());
    std::filesystem::remove(path);
}

TEST_CASE("single-byte corruption of the header region never crashes", "[gguf][malformed]") {
    // Not every flipped byte makes the file invalid (a flipped tensor byte is just data); the point is that the
    // plugin either refuses with a one-line message or serves entries that lie inside the file (ASan checks).
    const RawFile base = valid_raw_file();
    const std::vector<uint8_t> full = base.bytes();
    const size_t header_end = full.size() - base.data_bytes;
    for (size_t pos = 0; pos < header_end; ++pos) {
        for (uint8_t value : {uint8_t(0x00), uint8_t(0xff), uint8_t(full[pos] ^ 0x01)}) {
            INFO("byte " << pos << " set to " << int(value));
            std::vector<uint8_t> bytes = full;
            bytes[pos] = value;
            Result r = open_bytes(bytes, "flip");
            if (r.status != APH_OK) {
                CHECK_FALSE(r.message.empty());
                CHECK(r.message.find('\n') == std::string::npos);
                CHECK(r.status != APH_STATUS_INTERNAL);
            }
        }
    }
}

TEST_CASE("valid variants open: v2, alignment 64, no tensors", "[gguf][malformed]") {
    RawFile v2 = valid_raw_file();
    v2.version = 2;
    CHECK(open_bytes(v2.bytes(), "v2").status == APH_OK);

    RawFile a64 = valid_raw_file();
    a64.kvs.push_back(kv_u32("general.alignment", 64));
    a64.pad_to = 64;
    Result r = open_bytes(a64.bytes(), "a64");
    INFO(r.message);
    CHECK(r.status == APH_OK);

    RawFile none = valid_raw_file();
    none.tensors.clear();
    none.data_bytes = 0;
    none.pad_to = 1;  // the data section padding may be missing when there is no data
    CHECK(open_bytes(none.bytes(), "none").status == APH_OK);
}
