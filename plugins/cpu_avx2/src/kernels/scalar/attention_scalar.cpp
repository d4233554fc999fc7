// Portable attention kernels: scores of the query heads of one kv head against its cache rows, and the
// p-weighted sums of the rows (see KernelTable::attn_scores / attn_weighted_sum).
#include "../kernel_table.hpp"

#include <aprhost/reference/fp16.hpp>

#include <cstdint>

namespace aprhost::cpu::scalar {
#include "../kernel_decls.inc"

void attn_scores(const float* const* q, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n, int64_t hd,
                 bool f16, float scale, float* s) {
    for (int64_t h = 0; h < nq; ++h) {
        for (int64_t i = 0; i < n; ++i) {
            const uint8_t* row = base + off[i];
            s[h * n + i] = (f16 ? vec_dot_f16(q[h], reinterpret_cast<const uint16_t*>(row), hd)
                                : vec_dot_f32(q[h], reinterpret_cast<const float*>(row), hd)) *
                           scale;
        }
    }
}

void attn_weighted_sum(const float* p, int64_t nq, const uint8_t* base, const int64_t* off, int64_t n, int64_t hd,
                       bool f16, float* out) {
    for (int64_t h = 0; h < nq; ++h) {
        float* o = out + h * hd;
        for (int64_t d = 0; d < hd; ++d) o[d] = 0.0f;
        for (int64_t i = 0; i < n; ++i) {
            if (f16) vec_axpy_f16(p[h * n + i], reinterpret_cast<const uint16_t*>(base + off[i]), o, hd);
            else vec_axpy_f32(p[h * n + i], reinterpret_cast<const float*>(base + off[i]), o, hd);
        }
    }
}

}  // namespace aprhost::cpu::scalar
