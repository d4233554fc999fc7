// Deterministic random test data shared by the CPU, conformance and CUDA tests: N(0, sigma) floats and weight rows
// quantised from them with the SDK reference quantiser. The streams are std::mt19937 + normal_distribution<float>
// (libstdc++'s, fixed for a given seed), so a seed names the same data in every test that uses it.
// Header-only, C++17, host code only (the CUDA tests include it from .cpp files).
#pragma once

#include <aprhost/reference/quant_blocks.hpp>
#include <aprhost/reference/quantize.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace aprhost::test {

// n floats drawn from N(0, sigma).
inline std::vector<float> randn(size_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// m rows of k weights of dtype: randn(k·m, seed, sigma) quantised row by row with the reference quantiser (F32 is
// a copy). k must be a whole number of dtype's blocks.
inline std::vector<uint8_t> gaussian_weights(uint32_t dtype, int64_t k, int64_t m, uint32_t seed, float sigma = 0.05f) {
    const std::vector<float> x = randn(static_cast<size_t>(k * m), seed, sigma);
    const size_t rb = ref::row_bytes(dtype, k);
    std::vector<uint8_t> w(rb * static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r)
        ref::quantize_row(dtype, x.data() + r * k, w.data() + static_cast<size_t>(r) * rb, k);
    return w;
}

}  // namespace aprhost::test
