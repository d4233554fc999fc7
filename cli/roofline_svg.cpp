#include "roofline_svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace aprhost::cli {

namespace {

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

std::string roofline_svg(double bw, double peak, const std::vector<RooflinePoint>& points, const std::string& title) {
    const double W = 800, H = 560, L = 80, R = 30, T = 50, B = 60;  // canvas and margins
    bw = std::max(bw, 1e-3);
    peak = std::max(peak, 1e-3);
    // Axis ranges in decades: wide enough for the ridge and every point, whole decades for clean ticks.
    double xmin = 1e-2, xmax = 1e3, ymin = peak / 1e4, ymax = peak * 4;
    for (auto& p : points) {
        if (p.intensity > 0) xmin = std::min(xmin, p.intensity / 2), xmax = std::max(xmax, p.intensity * 2);
        if (p.gflop_s > 0) ymin = std::min(ymin, p.gflop_s / 2), ymax = std::max(ymax, p.gflop_s * 2);
    }
    const double lx0 = std::floor(std::log10(xmin)), lx1 = std::ceil(std::log10(xmax));
    const double ly0 = std::floor(std::log10(ymin)), ly1 = std::ceil(std::log10(ymax));
    auto X = [&](double v) { return L + (std::log10(v) - lx0) / (lx1 - lx0) * (W - L - R); };
    auto Y = [&](double v) { return H - B - (std::log10(v) - ly0) / (ly1 - ly0) * (H - T - B); };

    std::string s = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
        "height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        "<text x=\"{2}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">Roofline — {3}</text>\n",
        W, H, W / 2, xml_escape(title));
    // Grid and tick labels per decade.
    for (double d = lx0; d <= lx1; ++d) {
        double x = X(std::pow(10, d));
        s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
                         "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">1e{4}</text>\n",
                         x, T, H - B, H - B + 18, int(d));
    }
    for (double d = ly0; d <= ly1; ++d) {
        double y = Y(std::pow(10, d));
        s += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
                         "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">1e{5}</text>\n",
                         L, y, W - R, L - 6, y + 4, int(d));
    }
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", L, T,
                     W - L - R, H - T - B);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">arithmetic intensity (flop/byte)</text>\n",
                     (L + W - R) / 2, H - 15);
    s += fmt::format("<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">GFLOP/s</text>\n",
                     (T + H - B) / 2);
    // The roof: y = bw·x up to the ridge, then the compute peak. The slope starts where it enters the plot.
    const double ridge = peak / bw;
    const double x_start = std::max(std::pow(10, lx0), std::pow(10, ly0) / bw);
    s += fmt::format("<polyline points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" fill=\"none\" stroke=\"#c00\" "
                     "stroke-width=\"2\"/>\n",
                     X(x_start), Y(bw * x_start), X(ridge), Y(peak), X(std::pow(10, lx1)), Y(peak));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#c00\">peak {:.1f} GFLOP/s</text>\n", X(ridge) + 6,
                     Y(peak) - 6, peak);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#c00\" text-anchor=\"end\">{:.1f} GB/s</text>\n",
                     X(ridge) - 8, Y(peak) + 16, bw);
    for (auto& p : points) {
        if (p.intensity <= 0 || p.gflop_s <= 0) continue;
        const char* colour = p.series == "decode" ? "#06c" : "#e80";
        s += fmt::format("<circle cx=\"{0:.1f}\" cy=\"{1:.1f}\" r=\"5\" fill=\"{2}\"><title>{3} ({4}): {5:.3g} flop/B, "
                         "{6:.3g} GFLOP/s</title></circle><text x=\"{7:.1f}\" y=\"{8:.1f}\" fill=\"{2}\">{3}</text>\n",
                         X(p.intensity), Y(p.gflop_s), colour, xml_escape(p.label), xml_escape(p.series), p.intensity,
                         p.gflop_s, X(p.intensity) + 7, Y(p.gflop_s) - 5);
    }
    s += fmt::format("<circle cx=\"{0}\" cy=\"{1}\" r=\"5\" fill=\"#06c\"/><text x=\"{2}\" y=\"{3}\">decode</text>"
                     "<circle cx=\"{0}\" cy=\"{4}\" r=\"5\" fill=\"#e80\"/><text x=\"{2}\" y=\"{5}\">prefill</text>\n",
                     W - R - 90, T + 15, W - R - 80, T + 19, T + 33, T + 37);
    s += "</svg>\n";
    return s;
}

}  // namespace aprhost::cli
