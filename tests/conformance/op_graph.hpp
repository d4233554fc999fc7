// A one-op (or few-op) graph for the conformance suite, built on the backend under test through the ABI only
// (core::BackendContext: alloc / upload / download / supports / compute). Every tensor lives in its own buffer
// between kGuard sentinel bytes on each side: the whole buffer is uploaded with the sentinel pattern first, so
// a write past either end of an output shows up in sentinel_violation().
#pragma once

#include "test_random.hpp"

#include <aprhost/abi.h>
#include <aprhost/core/backend.hpp>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace aprhost::conformance {

class OpGraph {
public:
    explicit OpGraph(std::shared_ptr<core::BackendContext> ctx) : ctx_(std::move(ctx)) {}

    // Adds a dense tensor of shape ne (innermost first); data (may be null = zeros) is its packed bytes.
    int add(uint32_t dtype, std::initializer_list<int64_t> ne, const void* data = nullptr);
    int add_f32(std::initializer_list<int64_t> ne, const std::vector<float>& v) { return add(APH_DTYPE_F32, ne, v.data()); }
    int add_i32(const std::vector<int32_t>& v) { return add(APH_DTYPE_I32, {int64_t(v.size())}, v.data()); }
    // Fills tensor t's payload (and re-writes its guards).
    void set(int t, const void* data);

    void node(aph_op op, std::initializer_list<int32_t> srcs, int32_t dst, std::initializer_list<int32_t> iparams = {},
              std::initializer_list<float> fparams = {});

    // "" when the backend supports every node, else "node <op>: <backend's reason>".
    std::string unsupported() const;
    // graph_compute + synchronize; throws core::Error with the backend's message.
    void compute();

    std::vector<uint8_t> bytes(int t) const;  // payload bytes
    std::vector<float> f32(int t) const;      // payload of an f32 tensor
    // "" when every guard byte of every tensor still holds the sentinel, else which tensor and where.
    std::string sentinel_violation() const;

    static constexpr uint64_t kGuard = 64;
    static constexpr uint8_t kSentinel = 0xA5;

private:
    aph_graph view() const;
    std::shared_ptr<core::BackendContext> ctx_;
    std::vector<aph_tensor> tensors_;
    std::vector<std::shared_ptr<core::Buffer>> buffers_;
    std::vector<uint64_t> payload_;
    std::vector<aph_node> nodes_;
};

// Bytes of n elements of dtype (i32 included); 0 when n is not a whole number of blocks.
size_t dtype_row_bytes(uint32_t dtype, int64_t n);
// "q4_K", "f16", "apr_q4", ...
const char* dtype_label(uint32_t dtype);

// Σ(a−b)²/Σb² (plain Σ(a−b)² when b is all zeros). +inf when sizes differ or a holds NaN/Inf where b is finite.
double nmse(const std::vector<float>& a, const std::vector<float>& b);
// "" when a is finite wherever ref is, else where the first NaN/Inf is.
std::string non_finite(const std::vector<float>& a, const std::vector<float>& ref);

// Deterministic N(0, sigma) floats (tests/common/test_random.hpp).
using test::randn;
// m rows of k weights of dtype quantised from N(0, 0.05) with the reference quantiser.
inline std::vector<uint8_t> make_weights(uint32_t dtype, int64_t k, int64_t m, uint32_t seed) {
    return test::gaussian_weights(dtype, k, m, seed);
}

}  // namespace aprhost::conformance
