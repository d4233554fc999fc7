// Test harness for the cpu backend plugins: loads a variant's .so with dlopen, creates contexts through the C ABI,
// and builds small graphs whose tensors each live in their own buffer between sentinel guard bytes (row padding
// of views is filled with sentinels too), so out-of-bounds writes are caught. Also: NMSE and random data.
#pragma once

#include "test_random.hpp"

#include <aprhost/abi.h>

#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace cputest {

// A loaded plugin .so (kept loaded for the whole test run).
struct Plugin {
    std::string path;
    const aph_plugin_desc* desc = nullptr;
    const aph_backend_vtable* vt = nullptr;
    aph_plugin_score_fn score = nullptr;

    // "avx2" or "scalar": libaprhost-backend-cpu-<variant>.so from APRHOST_PLUGIN_DIR. Fails the test if missing.
    static const Plugin& get(const std::string& variant);
};

using OptionList = std::vector<std::pair<std::string, std::string>>;

// One backend context. create() failures are recorded (status/error), not thrown.
class Backend {
public:
    explicit Backend(const Plugin& p, const OptionList& opts = {});
    ~Backend();
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    bool ok() const { return ctx != nullptr; }
    const Plugin& plugin;
    void* ctx = nullptr;
    aph_status create_status = APH_OK;
    std::string create_error;
};

// A graph under construction plus the buffers of its tensors.
class Graph {
public:
    explicit Graph(Backend& b);
    ~Graph();
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    // Adds a tensor of shape ne (innermost first; missing dims = 1). data (dense, may be null = zeros) is scattered
    // into a layout with `pad1` extra bytes after each row (nb1 = row bytes + pad1) and `pad2` extra bytes after
    // each ne[1] group of rows. Returns the tensor index.
    int add(uint32_t dtype, std::initializer_list<int64_t> ne, const void* data = nullptr, int64_t pad1 = 0,
            int64_t pad2 = 0);
    int add_f32(std::initializer_list<int64_t> ne, const std::vector<float>& v, int64_t pad1 = 0, int64_t pad2 = 0) {
        return add(APH_DTYPE_F32, ne, v.data(), pad1, pad2);
    }
    int add_i32(const std::vector<int32_t>& v) {
        return add(APH_DTYPE_I32, {static_cast<int64_t>(v.size())}, v.data());
    }

    // A tensor of another (longer-lived) graph, used in place (its buffer stays the other graph's).
    int import(const Graph& other, int t);
    // A contiguous view of tensor t (no padding) with another shape of the same byte size.
    int reshape(int t, std::initializer_list<int64_t> ne);

    // Appends a node; srcs are tensor indices (-1 = absent). Returns the node index.
    int node(aph_op op, std::initializer_list<int32_t> srcs, int32_t dst, std::initializer_list<int32_t> iparams = {},
             std::initializer_list<float> fparams = {});

    // graph_compute + synchronize; returns the first non-OK status, message in *err.
    aph_status compute(std::string* err = nullptr);
    // supports() of node i.
    aph_status supports(uint32_t node_index, std::string* err = nullptr);

    // Dense contents of tensor t (padding dropped): raw bytes, or f32 values for an f32 tensor.
    std::vector<uint8_t> bytes(int t) const;
    std::vector<float> f32(int t) const;
    // Re-uploads dense data into tensor t.
    void set(int t, const void* data);
    // True when every guard and padding byte of every tensor still holds the sentinel.
    bool sentinels_intact() const;

    aph_tensor& tensor(int t) { return tensors_[static_cast<size_t>(t)]; }

private:
    struct Slot {
        aph_buffer_t buf = nullptr;
        uint64_t size = 0;
        uint64_t unit = 0;      // bytes per element or block
        uint64_t row_bytes = 0;
        bool owned = true;      // false: imported from another graph or a view (not freed, not sentinel-checked)
    };
    std::vector<uint8_t> download_all(int t) const;
    bool is_payload(int t, uint64_t byte_in_tensor) const;

    Backend& b_;
    std::vector<aph_tensor> tensors_;
    std::vector<Slot> slots_;
    std::vector<aph_node> nodes_;
};

// Σ(a−b)² / Σb²; +inf if a and b differ in size or a holds NaN/Inf.
double nmse(const std::vector<float>& a, const std::vector<float>& b);

// Deterministic N(0, sigma) floats (tests/common/test_random.hpp).
using aprhost::test::randn;

// Bytes of a row of n elements of dtype (i32 included).
size_t row_bytes(uint32_t dtype, int64_t n);

// M rows of K weights of dtype. realistic: N(0, 0.05) values quantized with the reference quantizer;
// otherwise random code bytes (every bit pattern, e.g. Q8_0's −128) with sane random f16 scale fields.
std::vector<uint8_t> make_weights(uint32_t dtype, int64_t k, int64_t m, uint32_t seed, bool realistic);

// What the kernels feed the integer dots: x rounded to 8-bit blocks of `block` (32 or 256) with
// d = max|x|/127, q = round-to-nearest-even(x · (1/d)), returned dequantized (d·q).
std::vector<float> emulate_act_quant(const std::vector<float>& x, int64_t k, int block);

// "q4_K", "f16", ...
const char* dtype_name(uint32_t dtype);

// The two built variants; every op test runs on both.
inline const char* const kVariants[] = {"avx2", "scalar"};

}  // namespace cputest
