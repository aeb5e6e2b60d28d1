#include "train/plot.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trit {

std::string loss_plot_svg(const Series& train, const Series& val, const std::string& title) {
  const double W = 800, Hh = 480, left = 70, right = 20, top = 40, bottom = 50;
  double x0 = 0, x1 = 1, y0 = INFINITY, y1 = -INFINITY;
  for (const Series* s : {&train, &val})
    for (auto [x, y] : *s) {
      x1 = std::max(x1, x);
      if (std::isfinite(y)) {
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
    }
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (y1 - y0 < 1e-6) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  auto X = [&](double x) { return left + (x - x0) / (x1 - x0) * (W - left - right); };
  auto Y = [&](double y) { return top + (y1 - y) / (y1 - y0) * (Hh - top - bottom); };
  std::string s = strf("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                       "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
                       "fill=\"white\"/>\n",
                       W, Hh);
  s += strf("<text x=\"%.0f\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">", W / 2);
  for (char c : title) s += c == '<' ? std::string("&lt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
  s += "</text>\n";
  for (int i = 0; i <= 5; ++i) {
    const double yv = y0 + (y1 - y0) * i / 5, xv = x0 + (x1 - x0) * i / 5;
    s += strf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, Y(yv), W - right, Y(yv));
    s += strf("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", left - 6, Y(yv) + 4, yv);
    s += strf("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", X(xv), Hh - bottom + 18, xv);
  }
  s += strf("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#444\"/>\n", left, top,
            W - left - right, Hh - top - bottom);
  s += strf("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">step</text>\n", (W + left) / 2, Hh - 10);
  s += strf("<text x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" text-anchor=\"middle\">loss (nats/token)</text>\n",
            Hh / 2, Hh / 2);
  auto line = [&](const Series& ser, const char* color, double width) {
    if (ser.empty()) return;
    s += strf("<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" points=\"", color, width);
    for (auto [x, y] : ser)
      if (std::isfinite(y)) s += strf("%.1f,%.1f ", X(x), Y(y));
    s += "\"/>\n";
  };
  line(train, "#1f77b4", 1.2);
  line(val, "#d62728", 2.0);
  s += strf("<text x=\"%.0f\" y=\"%.0f\" fill=\"#1f77b4\">train</text>\n", W - right - 90, top + 18);
  s += strf("<text x=\"%.0f\" y=\"%.0f\" fill=\"#d62728\">validation</text>\n", W - right - 90, top + 34);
  s += "</svg>\n";
  return s;
}

}  // namespace trit
