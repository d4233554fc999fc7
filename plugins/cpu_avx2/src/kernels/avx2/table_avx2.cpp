// The AVX2+FMA+F16C kernel table (compiled with -mavx2 -mfma -mf16c; only reached after a cpuid check).
#include "../kernel_table.hpp"

namespace aprhost::cpu {
namespace avx2 {
#include "../kernel_decls.inc"
// Row-range GEMV entries (gemv_q32_avx2.cpp); the scalar table has none.
void rows_q4_0(int64_t, const uint8_t*, int64_t, int64_t, const void* const*, int, float* const*, const float*);
void rows_q4_1(int64_t, const uint8_t*, int64_t, int64_t, const void* const*, int, float* const*, const float*);
void rows_q5_0(int64_t, const uint8_t*, int64_t, int64_t, const void* const*, int, float* const*, const float*);
void rows_q5_1(int64_t, const uint8_t*, int64_t, int64_t, const void* const*, int, float* const*, const float*);
void rows_q8_0(int64_t, const uint8_t*, int64_t, int64_t, const void* const*, int, float* const*, const float*);

static KernelTable make_table() {
#include "../table.inc"
    t.isa = "avx2+fma+f16c";
    t.rows_q4_0 = rows_q4_0;
    t.rows_q4_1 = rows_q4_1;
    t.rows_q5_0 = rows_q5_0;
    t.rows_q5_1 = rows_q5_1;
    t.rows_q8_0 = rows_q8_0;
    return t;
}
}  // namespace avx2

const KernelTable& kernels_avx2() {
    static const KernelTable table = avx2::make_table();
    return table;
}

}  // namespace aprhost::cpu
