// The C++ helpers of sdk/include/aprhost/plugin.hpp: exception → status translation, one-line error messages,
// plugin options, and the vtables APRHOST_DECLARE_PLUGIN's templates build (optional members → NULL slots).
#include <aprhost/plugin.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

using aprhost::sdk::Error;
using aprhost::sdk::guard;
using aprhost::sdk::Options;
using aprhost::sdk::set_error;

TEST_CASE("guard: success returns APH_OK and leaves the message alone", "[sdk][plugin]") {
    aph_error err{};
    std::strcpy(err.message, "untouched");
    int calls = 0;
    CHECK(guard(&err, [&] { ++calls; }) == APH_OK);
    CHECK(calls == 1);
    CHECK(std::string(err.message) == "untouched");
}

TEST_CASE("guard: every exception becomes a status and a message", "[sdk][plugin]") {
    aph_error err{};
    CHECK(guard(&err, [] { throw Error(APH_STATUS_EXHAUSTED, "cache full"); }) == APH_STATUS_EXHAUSTED);
    CHECK(std::string(err.message) == "cache full");

    CHECK(guard(&err, [] { throw Error(APH_STATUS_BAD_FORMAT, "bad magic at offset 0"); }) == APH_STATUS_BAD_FORMAT);
    CHECK(std::string(err.message) == "bad magic at offset 0");

    CHECK(guard(&err, [] { throw std::bad_alloc(); }) == APH_STATUS_OUT_OF_MEMORY);
    CHECK(std::string(err.message) == "out of memory");

    CHECK(guard(&err, [] { throw std::out_of_range("index 7"); }) == APH_STATUS_INTERNAL);
    CHECK(std::string(err.message) == "internal error: index 7");

    CHECK(guard(&err, [] { throw 42; }) == APH_STATUS_INTERNAL);
    CHECK(std::string(err.message) == "internal error: unknown exception");

    // A NULL error buffer is allowed: the status still comes back.
    CHECK(guard(nullptr, [] { throw Error(APH_STATUS_IO, "x"); }) == APH_STATUS_IO);
}

TEST_CASE("set_error: truncates to the buffer and keeps the message on one line", "[sdk][plugin]") {
    aph_error err{};
    std::memset(err.message, 'Z', sizeof(err.message));
    set_error(&err, std::string(2000, 'a'));
    CHECK(std::strlen(err.message) == APH_ERROR_MESSAGE_MAX - 1);
    CHECK(err.message[APH_ERROR_MESSAGE_MAX - 1] == '\0');
    CHECK(std::string(err.message) == std::string(APH_ERROR_MESSAGE_MAX - 1, 'a'));

    std::string exact(APH_ERROR_MESSAGE_MAX - 1, 'b');
    set_error(&err, exact);
    CHECK(std::string(err.message) == exact);

    set_error(&err, "line one\nline two\r\nthree");
    CHECK(std::string(err.message) == "line one line two  three");

    set_error(&err, "");
    CHECK(err.message[0] == '\0');
    set_error(nullptr, "ignored"); // must not crash
}

TEST_CASE("Options: values, integers and unknown keys", "[sdk][plugin]") {
    std::vector<aph_option> raw = {{"threads", "4"}, {"mode", "fast"}, {"empty", nullptr}, {"bad", "12x"}};
    Options o(raw.data(), raw.size());
    CHECK(o.has("threads"));
    CHECK_FALSE(o.has("nope"));
    CHECK(o.get("mode") == "fast");
    CHECK(o.get("empty") == "");
    CHECK(o.get("nope", "dflt") == "dflt");
    CHECK(o.get_int("threads", 1) == 4);
    CHECK(o.get_int("nope", -3) == -3);
    CHECK(o.all().size() == 4);

    try {
        o.get_int("bad", 0);
        FAIL("get_int accepted '12x'");
    } catch (const Error& e) {
        CHECK(e.status() == APH_STATUS_INVALID_ARGUMENT);
        CHECK(std::string(e.what()) == "option bad='12x' is not an integer");
    }
    CHECK_THROWS_AS(o.get_int("empty", 0), Error);
    CHECK_THROWS_AS(o.get_int("mode", 0), Error);

    CHECK_NOTHROW(o.require_known({"threads", "mode", "empty", "bad", "extra"}));
    try {
        o.require_known({"threads", "mode", "empty"});
        FAIL("require_known accepted 'bad'");
    } catch (const Error& e) {
        CHECK(e.status() == APH_STATUS_INVALID_ARGUMENT);
        CHECK(std::string(e.what()) == "unknown option 'bad'");
    }

    Options none(nullptr, 0);
    CHECK_NOTHROW(none.require_known({}));

    aph_option null_key{nullptr, "v"};
    CHECK_THROWS_AS(Options(&null_key, 1), Error);
}

TEST_CASE("log and aborted go through the host services", "[sdk][plugin]") {
    struct Sink {
        std::vector<std::string> lines;
    } sink;
    volatile int32_t flag = 0;
    aph_host_services host{};
    host.struct_size = sizeof(host);
    host.user = &sink;
    host.log = [](void* user, aph_log_level, const char* m) { static_cast<Sink*>(user)->lines.emplace_back(m); };
    host.abort_flag = &flag;

    aprhost::sdk::log(&host, APH_LOG_INFO, "hello");
    aprhost::sdk::log(nullptr, APH_LOG_INFO, "dropped");
    REQUIRE(sink.lines.size() == 1);
    CHECK(sink.lines[0] == "hello");
    CHECK_FALSE(aprhost::sdk::aborted(&host));
    flag = 1;
    CHECK(aprhost::sdk::aborted(&host));
    CHECK_FALSE(aprhost::sdk::aborted(nullptr));
}

// ---- vtables built from C++ classes -----------------------------------------------------------------------

namespace {

// A KV manager with only the required members: optional slots must come out NULL.
class MinimalKv {
public:
    MinimalKv(const aph_host_services*, const aph_kv_config& cfg, const Options& o) : cap_(cfg.capacity) {
        o.require_known({});
        if (cap_ == 0) throw Error(APH_STATUS_INVALID_ARGUMENT, "capacity 0");
    }
    uint64_t slot_count() { return cap_; }
    void seq_append(uint32_t, uint32_t n, int32_t* out) {
        if (used_ + n > cap_) throw Error(APH_STATUS_EXHAUSTED, "full");
        for (uint32_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(used_ + i);
        used_ += n;
    }
    void seq_block_table(uint32_t, int32_t* t, uint32_t cap, uint32_t& nb, uint32_t& bs, uint32_t& nkv) {
        nb = 1;
        bs = cap_;
        nkv = used_;
        if (cap) t[0] = 0;
    }
    void seq_free(uint32_t) { throw std::runtime_error("seq_free must not leak exceptions"); }

private:
    uint32_t cap_;
    uint32_t used_ = 0;
};

// The same plus every optional member.
class FullKv : public MinimalKv {
public:
    using MinimalKv::MinimalKv;
    void seq_fork(uint32_t, uint32_t) { throw Error(APH_STATUS_UNSUPPORTED, "no fork"); }
    void seq_truncate(uint32_t, uint32_t) {}
    aph_kv_stats stats() {
        aph_kv_stats s{};
        s.slots_total = 99;
        return s;
    }
    static uint32_t score(std::string& why) {
        why = "always";
        return 5;
    }
};

}  // namespace

TEST_CASE("kv_vtable_for: required members fill slots, absent optional members leave NULL", "[sdk][plugin]") {
    const aph_kv_vtable* vt = aprhost::sdk::kv_vtable_for<MinimalKv>();
    CHECK(vt->struct_size == sizeof(aph_kv_vtable));
    CHECK(vt->seq_fork == nullptr);
    CHECK(vt->seq_truncate == nullptr);
    CHECK(vt->stats == nullptr);

    aph_kv_config cfg{};
    cfg.struct_size = sizeof(cfg);
    cfg.capacity = 2;
    aph_error err{};
    void* kv = nullptr;
    REQUIRE(vt->create(nullptr, &cfg, nullptr, 0, &kv, &err) == APH_OK);
    int32_t slots[3] = {};
    CHECK(vt->seq_append(kv, 0, 2, slots, &err) == APH_OK);
    CHECK(vt->seq_append(kv, 0, 1, slots, &err) == APH_STATUS_EXHAUSTED);
    CHECK(std::string(err.message) == "full");
    vt->seq_free(kv, 0); // throws inside; the trampoline swallows it
    vt->destroy(kv);

    cfg.capacity = 0;
    CHECK(vt->create(nullptr, &cfg, nullptr, 0, &kv, &err) == APH_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(err.message) == "capacity 0");

    aph_error why{};
    CHECK(aprhost::sdk::score_of<MinimalKv>(&why) == 1); // no score(): runs anywhere
}

TEST_CASE("kv_vtable_for: optional members are wired when present", "[sdk][plugin]") {
    const aph_kv_vtable* vt = aprhost::sdk::kv_vtable_for<FullKv>();
    REQUIRE(vt->seq_fork != nullptr);
    REQUIRE(vt->seq_truncate != nullptr);
    REQUIRE(vt->stats != nullptr);
    aph_kv_config cfg{};
    cfg.struct_size = sizeof(cfg);
    cfg.capacity = 4;
    aph_error err{};
    void* kv = nullptr;
    REQUIRE(vt->create(nullptr, &cfg, nullptr, 0, &kv, &err) == APH_OK);
    CHECK(vt->seq_fork(kv, 0, 1, &err) == APH_STATUS_UNSUPPORTED);
    CHECK(vt->seq_truncate(kv, 0, 0, &err) == APH_OK);
    aph_kv_stats s{};
    vt->stats(kv, &s);
    CHECK(s.struct_size == sizeof(aph_kv_stats)); // filled by the trampoline
    CHECK(s.slots_total == 99);
    vt->destroy(kv);

    aph_error why{};
    CHECK(aprhost::sdk::score_of<FullKv>(&why) == 5);
    CHECK(std::string(why.message) == "always");
}
