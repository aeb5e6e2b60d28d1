#include "kernels/quant.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace trit {

size_t ternary_scale_count(int rows, int cols, int group) {
  if (group == kScaleTensor) return 1;
  if (group == kScaleRow) return static_cast<size_t>(rows);
  TRIT_CHECK(group > 0 && cols % group == 0, "group size %d does not divide the %d inputs of a row", group, cols);
  return static_cast<size_t>(rows) * (cols / group);
}

static inline float ternary_code(float w, float gamma) {
  float t = std::nearbyint(w / gamma);
  return std::min(1.0f, std::max(-1.0f, t)) + 0.0f;  // + 0: a zero code is +0, as packed files decode it
}

// Quantizes `n` contiguous weights with one scale.
static void quantize_span(const float* w, size_t n, float gamma, float* wq, int8_t* codes) {
  for (size_t i = 0; i < n; ++i) {
    float t = ternary_code(w[i], gamma);
    wq[i] = t * gamma;
    if (codes) codes[i] = static_cast<int8_t>(t);
  }
}

static bool span_absmean(const float* w, size_t n, float* gamma) {
  double s = 0.0, check = 0.0;
  for (size_t i = 0; i < n; ++i) {
    s += std::fabs(w[i]);
    check += w[i];
  }
  *gamma = std::max(static_cast<float>(s / static_cast<double>(n)), kWeightScaleEps);
  return std::isfinite(check) && std::isfinite(s);
}

bool ternary_quantize_ref(const float* W, int rows, int cols, int group, float* Wq, float* scales, int8_t* codes) {
  const size_t total = static_cast<size_t>(rows) * cols;
  if (group == kScaleTensor) {
    bool ok = span_absmean(W, total, &scales[0]);
    quantize_span(W, total, scales[0], Wq, codes);
    return ok;
  }
  const int g = group == kScaleRow ? cols : group;
  const size_t ng = total / g;
  bool ok = true;
  for (size_t i = 0; i < ng; ++i) {
    ok &= span_absmean(W + i * g, g, &scales[i]);
    quantize_span(W + i * g, g, scales[i], Wq + i * g, codes ? codes + i * g : nullptr);
  }
  return ok;
}

bool ternary_quantize(const float* W, int rows, int cols, int group, float* Wq, float* scales, int8_t* codes) {
  const size_t total = static_cast<size_t>(rows) * cols;
  int ok = 1;
  if (group == kScaleTensor) {
    // Per-row partial sums in double, then added in row order: the same scale for any thread count.
    std::vector<double> row_abs(rows), row_sum(rows);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; ++r) {
      double rs = 0.0, rc = 0.0;
      const float* w = W + static_cast<size_t>(r) * cols;
      for (int c = 0; c < cols; ++c) {
        rs += std::fabs(w[c]);
        rc += w[c];
      }
      row_abs[r] = rs;
      row_sum[r] = rc;
    }
    double s = 0.0, check = 0.0;
    for (int r = 0; r < rows; ++r) {
      s += row_abs[r];
      check += row_sum[r];
    }
    ok = std::isfinite(check) && std::isfinite(s);
    const float gamma = std::max(static_cast<float>(s / static_cast<double>(total)), kWeightScaleEps);
    scales[0] = gamma;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; ++r)
      quantize_span(W + static_cast<size_t>(r) * cols, cols, gamma, Wq + static_cast<size_t>(r) * cols,
                    codes ? codes + static_cast<size_t>(r) * cols : nullptr);
    return ok;
  }
  const int g = group == kScaleRow ? cols : group;
  const long ng = static_cast<long>(total / g);
#pragma omp parallel for schedule(static) reduction(& : ok)
  for (long i = 0; i < ng; ++i) {
    ok &= span_absmean(W + i * g, g, &scales[i]) ? 1 : 0;
    quantize_span(W + i * g, g, scales[i], Wq + i * g, codes ? codes + i * g : nullptr);
  }
  return ok;
}

bool act_quantize_int8(const float* x, int rows, int cols, float* xhat, float* inv_scale, int8_t* q) {
  int ok = 1;
#pragma omp parallel for schedule(static) reduction(& : ok)
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * cols;
    float amax = 0.0f, check = 0.0f;
    for (int c = 0; c < cols; ++c) {
      amax = std::max(amax, std::fabs(xr[c]));
      check += xr[c] * 0.0f;  // NaN if any element is NaN or infinite
    }
    if (!std::isfinite(check)) ok = 0;
    const float s = 127.0f / std::max(amax, kActScaleEps);
    float* xo = xhat + static_cast<size_t>(r) * cols;
    for (int c = 0; c < cols; ++c) {
      float v = std::min(127.0f, std::max(-128.0f, std::nearbyint(xr[c] * s)));
      xo[c] = v / s;
      if (q) q[static_cast<size_t>(r) * cols + c] = static_cast<int8_t>(v);
    }
    if (inv_scale) inv_scale[r] = 1.0f / s;
  }
  return ok;
}

bool all_finite(const float* x, size_t n) {
  float check = 0.0f;
#pragma omp parallel for reduction(+ : check) schedule(static)
  for (size_t i = 0; i < n; ++i) check += x[i] * 0.0f;
  return std::isfinite(check);
}

}  // namespace trit
