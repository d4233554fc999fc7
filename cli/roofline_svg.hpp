// A roofline plot as a standalone SVG document (hand-written, no dependencies): log-log axes of arithmetic
// intensity (flop/byte) against GFLOP/s, the memory-bandwidth slope, the compute roof, one point per op kind.
#pragma once

#include <string>
#include <vector>

namespace aprhost::cli {

struct RooflinePoint {
    std::string label;   // op kind, "mul_mat"
    std::string series;  // "decode" or "prefill" (colour)
    double intensity;    // flop / byte
    double gflop_s;
};

std::string roofline_svg(double bandwidth_gb_s, double peak_gflop_s, const std::vector<RooflinePoint>& points,
                         const std::string& title);

}  // namespace aprhost::cli
