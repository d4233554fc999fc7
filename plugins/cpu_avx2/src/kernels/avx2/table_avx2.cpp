// The AVX2+FMA+F16C kernel table (compiled with -mavx2 -mfma -mf16c; only reached after a cpuid check).
#include "../kernel_table.hpp"

namespace aprhost::cpu {
namespace avx2 {
#include "../kernel_decls.inc"

static KernelTable make_table() {
#include "../table.inc"
    t.isa = "avx2+fma+f16c";
    return t;
}
}  // namespace avx2

const KernelTable& kernels_avx2() {
    static const KernelTable table = avx2::make_table();
    return table;
}

}  // namespace aprhost::cpu
