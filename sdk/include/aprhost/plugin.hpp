// aprhost SDK, C++ layer: write a plugin as a plain C++ class; APRHOST_DECLARE_PLUGIN builds the C descriptor,
// the vtable of noexcept trampolines (exceptions become {status, message}) and the exported entry symbols.
//
//   class MyBackend { public: MyBackend(const aph_host_services*, const aprhost::sdk::Options&); ... };
//   APRHOST_DECLARE_PLUGIN(BACKEND, MyBackend, "mybackend", "", "0.1.0", "what it is")
//
// The member functions each kind needs are listed above backend_vtable_for / format_vtable_for / kv_vtable_for.
// Optional members are detected with C++20 requires-expressions; when absent the vtable slot is NULL.
#pragma once

#include <aprhost/abi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#if defined(_WIN32)
#define APRHOST_EXPORT __declspec(dllexport)
#else
#define APRHOST_EXPORT __attribute__((visibility("default")))
#endif

namespace aprhost::sdk {

// An error that crosses the ABI as (status, one-line message).
class Error : public std::runtime_error {
public:
    Error(aph_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    aph_status status() const noexcept { return status_; }

private:
    aph_status status_;
};

// Copies msg into err (truncated, NUL-terminated, newlines flattened so the message stays one line).
inline void set_error(aph_error* err, std::string_view msg) noexcept {
    if (!err) return;
    size_t n = msg.size() < APH_ERROR_MESSAGE_MAX - 1 ? msg.size() : APH_ERROR_MESSAGE_MAX - 1;
    for (size_t i = 0; i < n; ++i) err->message[i] = (msg[i] == '\n' || msg[i] == '\r') ? ' ' : msg[i];
    err->message[n] = '\0';
}

// Text taken from an untrusted file, made safe for a one-line error message: single-quoted, at most 80 bytes
// (then "..."), non-printable bytes, quotes and backslashes as \xNN.
inline std::string quoted_for_message(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    constexpr size_t kMax = 80;
    std::string out = "'";
    for (size_t i = 0; i < s.size() && i < kMax; ++i) {
        unsigned char ch = static_cast<unsigned char>(s[i]);
        if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') {
            out += static_cast<char>(ch);
        } else {
            out += "\\x";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        }
    }
    if (s.size() > kMax) out += "...";
    return out + "'";
}

// Runs f, turning any exception into a status + message. Every trampoline goes through here.
template <class F>
aph_status guard(aph_error* err, F&& f) noexcept {
    try {
        f();
        return APH_OK;
    } catch (const Error& e) {
        set_error(err, e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_error(err, "out of memory");
        return APH_STATUS_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_error(err, std::string("internal error: ") + e.what());
        return APH_STATUS_INTERNAL;
    } catch (...) {
        set_error(err, "internal error: unknown exception");
        return APH_STATUS_INTERNAL;
    }
}

// Plugin options as a map, with a check that every key given is one the plugin knows.
class Options {
public:
    Options() = default;
    Options(const aph_option* opts, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            if (!opts[i].key) throw Error(APH_STATUS_INVALID_ARGUMENT, "option with a NULL key");
            values_[opts[i].key] = opts[i].value ? opts[i].value : "";
        }
    }
    bool has(const std::string& key) const { return values_.count(key) != 0; }
    std::string get(const std::string& key, const std::string& fallback = "") const {
        auto it = values_.find(key);
        return it == values_.end() ? fallback : it->second;
    }
    long long get_int(const std::string& key, long long fallback) const {
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        char* end = nullptr;
        long long v = std::strtoll(it->second.c_str(), &end, 10);
        if (it->second.empty() || *end != '\0')
            throw Error(APH_STATUS_INVALID_ARGUMENT, "option " + key + "='" + it->second + "' is not an integer");
        return v;
    }
    // Throws INVALID_ARGUMENT naming the first key not in `known`.
    void require_known(std::initializer_list<std::string_view> known) const {
        for (auto& [k, v] : values_) {
            bool ok = false;
            for (auto kn : known) ok = ok || kn == k;
            if (!ok) throw Error(APH_STATUS_INVALID_ARGUMENT, "unknown option '" + k + "'");
        }
    }
    const std::map<std::string, std::string>& all() const { return values_; }

private:
    std::map<std::string, std::string> values_;
};

// Logging through the host (plugins never print).
inline void log(const aph_host_services* host, aph_log_level level, const std::string& msg) noexcept {
    if (host && host->log) host->log(host->user, level, msg.c_str());
}
inline bool aborted(const aph_host_services* host) noexcept { return host && host->abort_flag && *host->abort_flag; }

template <class T>
T* self_as(void* p) noexcept {
    return static_cast<T*>(p);
}

// ------------------------------------------------------------------------------------------------------------
// Backend: required members
//   T(const aph_host_services*, const Options&)
//   aph_device_info device_info()
//   aph_buffer_t buffer_alloc(uint64_t size);            void buffer_free(aph_buffer_t)
//   void buffer_upload(aph_buffer_t, uint64_t off, const void* src, uint64_t n)
//   void buffer_download(aph_buffer_t, uint64_t off, void* dst, uint64_t n)
//   std::string unsupported_reason(const aph_graph&, uint32_t node)   // "" = supported
//   void graph_compute(const aph_graph&);                void synchronize()
// optional: void* buffer_map(aph_buffer_t); aph_buffer_t buffer_import_host(const void*, uint64_t);
//           aph_backend_stats stats(); static uint32_t score(std::string& reason)
//           void graph_profile(const aph_graph&, uint64_t* node_ns)   // graph_compute + per-node wall ns
// ------------------------------------------------------------------------------------------------------------
template <class T>
const aph_backend_vtable* backend_vtable_for() {
    static const aph_backend_vtable vt = [] {
        aph_backend_vtable v{};
        v.struct_size = sizeof(aph_backend_vtable);
        v.create = [](const aph_host_services* host, const aph_option* opts, size_t n, void** out,
                      aph_error* err) noexcept {
            return guard(err, [&] { *out = new T(host, Options(opts, n)); });
        };
        v.destroy = [](void* ctx) noexcept { delete self_as<T>(ctx); };
        v.device_info = [](void* ctx, aph_device_info* out, aph_error* err) noexcept {
            return guard(err, [&] {
                *out = self_as<T>(ctx)->device_info();
                out->struct_size = sizeof(aph_device_info);
            });
        };
        v.buffer_alloc = [](void* ctx, uint64_t size, aph_buffer_t* out, aph_error* err) noexcept {
            return guard(err, [&] { *out = self_as<T>(ctx)->buffer_alloc(size); });
        };
        v.buffer_free = [](void* ctx, aph_buffer_t b) noexcept {
            if (b) {
                try {
                    self_as<T>(ctx)->buffer_free(b);
                } catch (...) {
                }
            }
        };
        v.buffer_upload = [](void* ctx, aph_buffer_t b, uint64_t off, const void* src, uint64_t n,
                             aph_error* err) noexcept {
            return guard(err, [&] { self_as<T>(ctx)->buffer_upload(b, off, src, n); });
        };
        v.buffer_download = [](void* ctx, aph_buffer_t b, uint64_t off, void* dst, uint64_t n,
                               aph_error* err) noexcept {
            return guard(err, [&] { self_as<T>(ctx)->buffer_download(b, off, dst, n); });
        };
        if constexpr (requires(T t, aph_buffer_t b) { t.buffer_map(b); }) {
            v.buffer_map = [](void* ctx, aph_buffer_t b, void** out, aph_error* err) noexcept {
                return guard(err, [&] { *out = self_as<T>(ctx)->buffer_map(b); });
            };
        }
        if constexpr (requires(T t, const void* p, uint64_t n) { t.buffer_import_host(p, n); }) {
            v.buffer_import_host = [](void* ctx, const void* p, uint64_t n, aph_buffer_t* out,
                                      aph_error* err) noexcept {
                return guard(err, [&] { *out = self_as<T>(ctx)->buffer_import_host(p, n); });
            };
        }
        v.supports = [](void* ctx, const aph_graph* g, uint32_t node, aph_error* err) noexcept {
            aph_status st = APH_OK;
            aph_status g_st = guard(err, [&] {
                std::string why = self_as<T>(ctx)->unsupported_reason(*g, node);
                if (!why.empty()) {
                    set_error(err, why);
                    st = APH_STATUS_UNSUPPORTED;
                }
            });
            return g_st != APH_OK ? g_st : st;
        };
        v.graph_compute = [](void* ctx, const aph_graph* g, aph_error* err) noexcept {
            return guard(err, [&] { self_as<T>(ctx)->graph_compute(*g); });
        };
        v.synchronize = [](void* ctx, aph_error* err) noexcept {
            return guard(err, [&] { self_as<T>(ctx)->synchronize(); });
        };
        if constexpr (requires(T t) { t.stats(); }) {
            v.stats = [](void* ctx, aph_backend_stats* out) noexcept {
                try {
                    *out = self_as<T>(ctx)->stats();
                } catch (...) {
                    *out = aph_backend_stats{};
                }
                out->struct_size = sizeof(aph_backend_stats);
            };
        }
        if constexpr (requires(T t, const aph_graph& g, uint64_t* ns) { t.graph_profile(g, ns); }) {
            v.graph_profile = [](void* ctx, const aph_graph* g, uint64_t* ns, aph_error* err) noexcept {
                return guard(err, [&] { self_as<T>(ctx)->graph_profile(*g, ns); });
            };
        }
        return v;
    }();
    return &vt;
}

// ------------------------------------------------------------------------------------------------------------
// Format loader: required members
//   static uint32_t probe(const uint8_t* head, size_t n)
//   T(const aph_host_services*, const char* path, const Options&)   // throws Error(BAD_FORMAT/IO, "...")
//   uint64_t metadata_count(); aph_metadata_entry metadata_get(uint64_t)
//   uint64_t tensor_count();   aph_tensor_info tensor_get(uint64_t)
// optional: const char* describe(); static uint32_t score(std::string& reason)
// ------------------------------------------------------------------------------------------------------------
template <class T>
const aph_format_vtable* format_vtable_for() {
    static const aph_format_vtable vt = [] {
        aph_format_vtable v{};
        v.struct_size = sizeof(aph_format_vtable);
        v.probe = [](const uint8_t* head, size_t n) noexcept -> uint32_t {
            try {
                return T::probe(head, n);
            } catch (...) {
                return 0;
            }
        };
        v.open = [](const aph_host_services* host, const char* path, const aph_option* opts, size_t n, void** out,
                    aph_error* err) noexcept { return guard(err, [&] { *out = new T(host, path, Options(opts, n)); }); };
        v.close = [](void* m) noexcept { delete self_as<T>(m); };
        v.metadata_count = [](void* m) noexcept -> uint64_t { return self_as<T>(m)->metadata_count(); };
        v.metadata_get = [](void* m, uint64_t i, aph_metadata_entry* out, aph_error* err) noexcept {
            return guard(err, [&] { *out = self_as<T>(m)->metadata_get(i); });
        };
        v.tensor_count = [](void* m) noexcept -> uint64_t { return self_as<T>(m)->tensor_count(); };
        v.tensor_get = [](void* m, uint64_t i, aph_tensor_info* out, aph_error* err) noexcept {
            return guard(err, [&] { *out = self_as<T>(m)->tensor_get(i); });
        };
        if constexpr (requires(T t) { t.describe(); }) {
            v.describe = [](void* m) noexcept -> const char* { return self_as<T>(m)->describe(); };
        }
        return v;
    }();
    return &vt;
}

// ------------------------------------------------------------------------------------------------------------
// KV-cache manager: required members
//   T(const aph_host_services*, const aph_kv_config&, const Options&)
//   uint64_t slot_count()
//   void seq_append(uint32_t seq, uint32_t n, int32_t* out_slots)      // throws Error(EXHAUSTED, ...) when full
//   void seq_block_table(uint32_t seq, int32_t* table, uint32_t cap, uint32_t& n_blocks, uint32_t& block_size,
//                        uint32_t& n_kv)
//   void seq_free(uint32_t seq)
// optional: void seq_fork(uint32_t src, uint32_t dst); void seq_truncate(uint32_t seq, uint32_t n);
//           void seq_append_tokens(uint32_t seq, const int32_t* ids, uint32_t n, int32_t* out_slots,
//                                  uint32_t& out_n_cached)   // prefix cache
//           aph_kv_stats stats(); static uint32_t score(std::string& reason)
// ------------------------------------------------------------------------------------------------------------
template <class T>
const aph_kv_vtable* kv_vtable_for() {
    static const aph_kv_vtable vt = [] {
        aph_kv_vtable v{};
        v.struct_size = sizeof(aph_kv_vtable);
        v.create = [](const aph_host_services* host, const aph_kv_config* cfg, const aph_option* opts, size_t n,
                      void** out, aph_error* err) noexcept {
            return guard(err, [&] { *out = new T(host, *cfg, Options(opts, n)); });
        };
        v.destroy = [](void* kv) noexcept { delete self_as<T>(kv); };
        v.slot_count = [](void* kv) noexcept -> uint64_t { return self_as<T>(kv)->slot_count(); };
        v.seq_append = [](void* kv, uint32_t seq, uint32_t n, int32_t* slots, aph_error* err) noexcept {
            return guard(err, [&] { self_as<T>(kv)->seq_append(seq, n, slots); });
        };
        v.seq_block_table = [](void* kv, uint32_t seq, int32_t* table, uint32_t cap, uint32_t* nb, uint32_t* bs,
                               uint32_t* nkv, aph_error* err) noexcept {
            return guard(err, [&] { self_as<T>(kv)->seq_block_table(seq, table, cap, *nb, *bs, *nkv); });
        };
        if constexpr (requires(T t, uint32_t a) { t.seq_fork(a, a); }) {
            v.seq_fork = [](void* kv, uint32_t src, uint32_t dst, aph_error* err) noexcept {
                return guard(err, [&] { self_as<T>(kv)->seq_fork(src, dst); });
            };
        }
        if constexpr (requires(T t, uint32_t a) { t.seq_truncate(a, a); }) {
            v.seq_truncate = [](void* kv, uint32_t seq, uint32_t n, aph_error* err) noexcept {
                return guard(err, [&] { self_as<T>(kv)->seq_truncate(seq, n); });
            };
        }
        v.seq_free = [](void* kv, uint32_t seq) noexcept {
            try {
                self_as<T>(kv)->seq_free(seq);
            } catch (...) {
            }
        };
        if constexpr (requires(T t, uint32_t a, const int32_t* ids, int32_t* slots, uint32_t& nc) {
                          t.seq_append_tokens(a, ids, a, slots, nc);
                      }) {
            v.seq_append_tokens = [](void* kv, uint32_t seq, const int32_t* ids, uint32_t n, int32_t* slots,
                                     uint32_t* n_cached, aph_error* err) noexcept {
                return guard(err, [&] { self_as<T>(kv)->seq_append_tokens(seq, ids, n, slots, *n_cached); });
            };
        }
        if constexpr (requires(T t) { t.stats(); }) {
            v.stats = [](void* kv, aph_kv_stats* out) noexcept {
                try {
                    *out = self_as<T>(kv)->stats();
                } catch (...) {
                    *out = aph_kv_stats{};
                }
                out->struct_size = sizeof(aph_kv_stats);
            };
        }
        return v;
    }();
    return &vt;
}

template <class T>
uint32_t score_of(aph_error* reason) noexcept {
    if constexpr (requires(std::string& s) { T::score(s); }) {
        try {
            std::string why;
            uint32_t s = T::score(why);
            set_error(reason, why);
            return s;
        } catch (const std::exception& e) {
            set_error(reason, std::string("score() threw: ") + e.what());
            return 0;
        }
    } else {
        set_error(reason, "");
        return 1;
    }
}

template <aph_plugin_kind Kind, class T>
const void* vtable_for() {
    if constexpr (Kind == APH_PLUGIN_BACKEND) return backend_vtable_for<T>();
    else if constexpr (Kind == APH_PLUGIN_FORMAT) return format_vtable_for<T>();
    else return kv_vtable_for<T>();
}

}  // namespace aprhost::sdk

// Declares the plugin: KIND is BACKEND, FORMAT or KV_CACHE; CLASS the implementing class. Use once per .so.
#define APRHOST_DECLARE_PLUGIN(KIND, CLASS, NAME, VARIANT, VERSION, DESCRIPTION)                              \
    extern "C" APRHOST_EXPORT const aph_plugin_desc* aprhost_plugin_entry(void) {                          \
        static const aph_plugin_desc desc = {APH_ABI_MAJOR,                                                 \
                                             APH_ABI_MINOR,                                                 \
                                             sizeof(aph_plugin_desc),                                       \
                                             APH_PLUGIN_##KIND,                                             \
                                             NAME,                                                          \
                                             VARIANT,                                                       \
                                             VERSION,                                                       \
                                             DESCRIPTION,                                                   \
                                             ::aprhost::sdk::vtable_for<APH_PLUGIN_##KIND, CLASS>()};       \
        return &desc;                                                                                       \
    }                                                                                                       \
    extern "C" APRHOST_EXPORT uint32_t aprhost_plugin_score(aph_error* reason) {                           \
        return ::aprhost::sdk::score_of<CLASS>(reason);                                                     \
    }
