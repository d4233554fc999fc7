// The portable kernel table.
#include "../kernel_table.hpp"

namespace aprhost::cpu {
namespace scalar {
#include "../kernel_decls.inc"

static KernelTable make_table() {
#include "../table.inc"
    t.isa = "scalar";
    return t;
}
}  // namespace scalar

const KernelTable& kernels_scalar() {
    static const KernelTable table = scalar::make_table();
    return table;
}

}  // namespace aprhost::cpu
