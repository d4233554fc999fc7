// Turns the run-time tile width nc (1..kMaxTileCols) into a compile-time constant for the row kernels.
// Each kernel is written once as a template over NC; every instantiation runs the same per-column operation
// sequence, which is why a column's result does not depend on the tile it lands in.
#pragma once

#include "kernel_table.hpp"

namespace aprhost::cpu {

// Calls f.template operator()<NC>() with NC = nc (values above kMaxTileCols are clamped by the caller).
template <class F>
inline void dispatch_tile_cols(int nc, F&& f) {
    static_assert(kMaxTileCols == 4, "extend the switch below");
    switch (nc) {
        case 1: f.template operator()<1>(); break;
        case 2: f.template operator()<2>(); break;
        case 3: f.template operator()<3>(); break;
        default: f.template operator()<4>(); break;
    }
}

}  // namespace aprhost::cpu
