// Scalar reference implementations of the aph_op set (abi.h), on plain arrays with explicit sizes rather than
// aph_tensor views: the oracle stays simple and a conformance test only has to lay its tensors out densely.
// Everything that sums accumulates in double; transcendental functions are evaluated in double; results are
// rounded to float once at the end. Layouts are written outermost first, so "x [n][d]" means element (j, i) is
// x[j*d + i] — the same memory as the ABI's innermost-first shape [d, n].
//
// Errors (inconsistent sizes, unsupported dtype or mode) throw std::invalid_argument.
#pragma once

#include <aprhost/abi.h>
#include <aprhost/reference/dequant.hpp>
#include <aprhost/reference/quantize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

namespace aprhost::ref {

namespace detail {

inline void require(bool ok, const char* what) {
    if (!ok) {
        throw std::invalid_argument(what);
    }
}

}  // namespace detail

// GET_ROWS. table: rows of row_len elements of dtype (row r at byte r·row_bytes(dtype, row_len)); ids [n] valid
// row indices; out [n][row_len] f32 = the dequantized rows.
inline void get_rows(uint32_t dtype, const void* table, int64_t row_len, const int32_t* ids, int64_t n, float* out) {
    const size_t rb = row_bytes(dtype, row_len);
    detail::require(rb != 0 || row_len == 0, "get_rows: unsupported dtype or row_len not a whole number of blocks");
    for (int64_t j = 0; j < n; ++j) {
        detail::require(ids[j] >= 0, "get_rows: negative row id");
        const auto* row = static_cast<const uint8_t*>(table) + static_cast<size_t>(ids[j]) * rb;
        dequantize_row(dtype, row, out + j * row_len, row_len);
    }
}

// RMS_NORM. x [n][d]; w [d] or nullptr (no weight); out [n][d] (may alias x).
// out[j][i] = x[j][i] / sqrt(mean_i(x[j][i]²) + eps) · w[i].
inline void rms_norm(const float* x, const float* w, float* out, int64_t d, int64_t n, float eps) {
    detail::require(d > 0 && n >= 0, "rms_norm: d must be positive");
    for (int64_t j = 0; j < n; ++j) {
        const float* xr = x + j * d;
        double sum = 0.0;
        for (int64_t i = 0; i < d; ++i) {
            sum += static_cast<double>(xr[i]) * static_cast<double>(xr[i]);
        }
        const double inv = 1.0 / std::sqrt(sum / static_cast<double>(d) + static_cast<double>(eps));
        float* yr = out + j * d;
        for (int64_t i = 0; i < d; ++i) {
            const double wi = w != nullptr ? static_cast<double>(w[i]) : 1.0;
            yr[i] = static_cast<float>(static_cast<double>(xr[i]) * inv * wi);
        }
    }
}

// MUL_MAT. w: out_rows rows of `in` elements of w_dtype (row r at byte r·row_bytes(w_dtype, in), i.e. GGUF's
// [ne0 = in, ne1 = out]); x [n][in] f32; bias [out_rows] or nullptr; y [n][out_rows]:
// y[j·out_rows + r] = Σ_i W[r][i]·x[j][i] (+ bias[r]). Each weight row is dequantized, then dotted in double.
inline void matmul(uint32_t w_dtype, const void* w, int64_t in, int64_t out_rows, const float* x, int64_t n,
                   const float* bias, float* y) {
    const size_t rb = row_bytes(w_dtype, in);
    detail::require(rb != 0, "matmul: unsupported weight dtype or `in` not a whole number of blocks");
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t r = 0; r < out_rows; ++r) {
        dequantize_row(w_dtype, static_cast<const uint8_t*>(w) + static_cast<size_t>(r) * rb, row.data(), in);
        for (int64_t j = 0; j < n; ++j) {
            const float* xr = x + j * in;
            double acc = 0.0;
            for (int64_t i = 0; i < in; ++i) {
                acc += static_cast<double>(row[static_cast<size_t>(i)]) * static_cast<double>(xr[i]);
            }
            if (bias != nullptr) {
                acc += static_cast<double>(bias[r]);
            }
            y[j * out_rows + r] = static_cast<float>(acc);
        }
    }
}

// ROPE, in place. x [n][n_heads][head_dim]; positions [n]; mode APH_ROPE_NORM (rotate adjacent pairs (2i, 2i+1))
// or APH_ROPE_NEOX (rotate (i, i + n_rot/2)); only the first n_rot (even, ≤ head_dim) dims of each head rotate.
// Pair i turns by theta = positions[j]·freq_scale·freq_base^(−2i/n_rot): (a, b) → (a·cos − b·sin, a·sin + b·cos).
inline void rope(float* x, int64_t head_dim, int64_t n_heads, int64_t n, const int32_t* positions, int mode,
                 int64_t n_rot, float freq_base, float freq_scale) {
    detail::require(mode == APH_ROPE_NORM || mode == APH_ROPE_NEOX, "rope: mode must be NORM (0) or NEOX (2)");
    detail::require(n_rot >= 0 && n_rot % 2 == 0 && n_rot <= head_dim, "rope: n_rot must be even and <= head_dim");
    const int64_t half = n_rot / 2;
    for (int64_t j = 0; j < n; ++j) {
        const double p = static_cast<double>(positions[j]) * static_cast<double>(freq_scale);
        for (int64_t h = 0; h < n_heads; ++h) {
            float* v = x + (j * n_heads + h) * head_dim;
            for (int64_t i = 0; i < half; ++i) {
                const double theta =
                    p * std::pow(static_cast<double>(freq_base), -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
                const double c = std::cos(theta), s = std::sin(theta);
                const int64_t i0 = mode == APH_ROPE_NORM ? 2 * i : i;
                const int64_t i1 = mode == APH_ROPE_NORM ? 2 * i + 1 : i + half;
                const double a = v[i0], b = v[i1];
                v[i0] = static_cast<float>(a * c - b * s);
                v[i1] = static_cast<float>(a * s + b * c);
            }
        }
    }
}

// Slot of kv entry i of a sequence under a block table (APH_OP_ATTENTION): table[i / block_size]·block_size +
// i % block_size.
inline int64_t kv_slot(const int32_t* table, int64_t block_size, int64_t i) {
    return static_cast<int64_t>(table[i / block_size]) * block_size + i % block_size;
}

// KV_STORE. src [n][row_len] f32 (row_len = head_dim·kv_heads); slots [n]; cache: rows of row_len elements of
// cache_dtype (F32, F16 or BF16); row i of src is written (rounded to nearest even) into cache row slots[i].
inline void kv_store(const float* src, int64_t row_len, int64_t n, const int32_t* slots, uint32_t cache_dtype,
                     void* cache) {
    detail::require(cache_dtype == APH_DTYPE_F32 || cache_dtype == APH_DTYPE_F16 || cache_dtype == APH_DTYPE_BF16,
                    "kv_store: cache dtype must be f32, f16 or bf16");
    const size_t rb = row_bytes(cache_dtype, row_len);
    for (int64_t i = 0; i < n; ++i) {
        detail::require(slots[i] >= 0, "kv_store: negative slot");
        quantize_row(cache_dtype, src + i * row_len, static_cast<uint8_t*>(cache) + static_cast<size_t>(slots[i]) * rb,
                     row_len);
    }
}

// Gather a sequence's n_kv cache rows (row_len elements of cache_dtype each) through its block table into a dense
// out [n_kv][row_len] f32, in attention order: the bridge from the paged cache to attention() below.
inline void gather_kv_rows(uint32_t cache_dtype, const void* cache, int64_t row_len, const int32_t* table,
                           int64_t block_size, int64_t n_kv, float* out) {
    detail::require(block_size > 0, "gather_kv_rows: block_size must be positive");
    const size_t rb = row_bytes(cache_dtype, row_len);
    detail::require(rb != 0, "gather_kv_rows: unsupported cache dtype");
    for (int64_t i = 0; i < n_kv; ++i) {
        const int64_t slot = kv_slot(table, block_size, i);
        dequantize_row(cache_dtype, static_cast<const uint8_t*>(cache) + static_cast<size_t>(slot) * rb,
                       out + i * row_len, row_len);
    }
}

// ATTENTION (causal, GQA, one sequence). q [n_q][n_heads][head_dim]; k, v [n_kv][n_kv_heads·head_dim] (kv head g
// at offset g·head_dim); out [n_q][n_heads][head_dim]. The n_q queries are the last n_q kv entries: query j sees
// kv entries 0 .. n_kv − n_q + j. Query head h uses kv head h / (n_heads / n_kv_heads).
// out = Σ_i softmax_i(scale · q·k_i) · v_i, with the softmax's max subtracted, all in double.
inline void attention(const float* q, const float* k, const float* v, int64_t head_dim, int64_t n_heads,
                      int64_t n_kv_heads, int64_t n_q, int64_t n_kv, float scale, float* out) {
    detail::require(head_dim > 0 && n_heads > 0 && n_kv_heads > 0, "attention: sizes must be positive");
    detail::require(n_heads % n_kv_heads == 0, "attention: n_heads must be a multiple of n_kv_heads");
    detail::require(n_q >= 0 && n_kv >= n_q, "attention: n_kv must be >= n_q (queries are the last kv entries)");
    const int64_t group = n_heads / n_kv_heads;
    const int64_t kv_stride = n_kv_heads * head_dim;
    std::vector<double> score(static_cast<size_t>(n_kv));
    std::vector<double> acc(static_cast<size_t>(head_dim));
    for (int64_t j = 0; j < n_q; ++j) {
        const int64_t visible = n_kv - n_q + j + 1;
        for (int64_t h = 0; h < n_heads; ++h) {
            const float* qv = q + (j * n_heads + h) * head_dim;
            const int64_t g = h / group;
            double max_score = -std::numeric_limits<double>::infinity();
            for (int64_t i = 0; i < visible; ++i) {
                const float* kv = k + i * kv_stride + g * head_dim;
                double dot = 0.0;
                for (int64_t c = 0; c < head_dim; ++c) {
                    dot += static_cast<double>(qv[c]) * static_cast<double>(kv[c]);
                }
                score[static_cast<size_t>(i)] = dot * static_cast<double>(scale);
                max_score = std::max(max_score, score[static_cast<size_t>(i)]);
            }
            double denom = 0.0;
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t i = 0; i < visible; ++i) {
                const double p = std::exp(score[static_cast<size_t>(i)] - max_score);
                denom += p;
                const float* vv = v + i * kv_stride + g * head_dim;
                for (int64_t c = 0; c < head_dim; ++c) {
                    acc[static_cast<size_t>(c)] += p * static_cast<double>(vv[c]);
                }
            }
            float* o = out + (j * n_heads + h) * head_dim;
            for (int64_t c = 0; c < head_dim; ++c) {
                o[c] = static_cast<float>(acc[static_cast<size_t>(c)] / denom);
            }
        }
    }
}

// silu(g) = g / (1 + e^−g), in double.
inline double silu(double g) { return g / (1.0 + std::exp(-g)); }

// gelu(g), tanh approximation: 0.5·g·(1 + tanh(sqrt(2/π)·(g + 0.044715·g³))), in double.
inline double gelu_tanh(double g) {
    const double sqrt_2_over_pi = 0.7978845608028654;
    return 0.5 * g * (1.0 + std::tanh(sqrt_2_over_pi * (g + 0.044715 * g * g * g)));
}

// SWIGLU. gate, up, out [n] (out may alias either): out = silu(gate)·up.
inline void swiglu(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(silu(gate[i]) * static_cast<double>(up[i]));
    }
}

// GEGLU. gate, up, out [n] (out may alias either): out = gelu_tanh(gate)·up.
inline void geglu(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(gelu_tanh(gate[i]) * static_cast<double>(up[i]));
    }
}

// ADD. a [n][d]; b [b_rows][d] with b_rows == n (elementwise) or 1 (b's one row added to every row of a);
// out [n][d] (may alias a).
inline void add(const float* a, const float* b, float* out, int64_t d, int64_t n, int64_t b_rows) {
    detail::require(b_rows == n || b_rows == 1, "add: b must have n rows or 1 row");
    for (int64_t j = 0; j < n; ++j) {
        const float* br = b + (b_rows == 1 ? 0 : j * d);
        for (int64_t i = 0; i < d; ++i) {
            out[j * d + i] = static_cast<float>(static_cast<double>(a[j * d + i]) + static_cast<double>(br[i]));
        }
    }
}

// SCALE. x, out [n] (out may alias x): out = x·s.
inline void scale(const float* x, float* out, int64_t n, float s) {
    for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(static_cast<double>(x[i]) * static_cast<double>(s));
    }
}

// COPY. n elements of src_dtype → dst_dtype. Same dtype: a byte copy (NaN payloads kept). Otherwise src is
// dequantized to f32 and rounded to dst_dtype (F32, F16 or BF16 per the ABI; any dtype quantize_row() writes works).
inline void copy(uint32_t src_dtype, const void* src, uint32_t dst_dtype, void* dst, int64_t n) {
    if (src_dtype == dst_dtype) {
        const size_t rb = row_bytes(src_dtype, n);
        detail::require(rb != 0 || n == 0, "copy: unsupported dtype or n not a whole number of blocks");
        std::memcpy(dst, src, rb);
        return;
    }
    std::vector<float> tmp(static_cast<size_t>(n));
    dequantize_row(src_dtype, src, tmp.data(), n);
    quantize_row(dst_dtype, tmp.data(), dst, n);
}

}  // namespace aprhost::ref
