#include "kernels/norm.h"

#include <cmath>
#include <cstddef>

namespace trit {

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* xr = x + static_cast<size_t>(n) * C;
    float* yr = y + static_cast<size_t>(n) * C;
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int c = 0; c < C; ++c) ss += xr[c] * xr[c];
    const float r = 1.0f / std::sqrt(ss / C + eps);
    rstd[n] = r;
    for (int c = 0; c < C; ++c) yr[c] = xr[c] * r * w[c];
  }
}

void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int N, int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* xr = x + static_cast<size_t>(n) * C;
    const float* dyr = dy + static_cast<size_t>(n) * C;
    float* dxr = dx + static_cast<size_t>(n) * C;
    const float r = rstd[n];
    float dot = 0.0f;  // sum_c dy*w*xhat
#pragma omp simd reduction(+ : dot)
    for (int c = 0; c < C; ++c) dot += dyr[c] * w[c] * xr[c] * r;
    const float mean_dot = dot / C;
    for (int c = 0; c < C; ++c) dxr[c] += r * (dyr[c] * w[c] - xr[c] * r * mean_dot);
  }
  constexpr int kBlock = 64;
  const int nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int b = 0; b < nblocks; ++b) {
    const int c0 = b * kBlock, c1 = c0 + kBlock < C ? c0 + kBlock : C;
    float acc[kBlock] = {};
    for (int n = 0; n < N; ++n) {
      const float* xr = x + static_cast<size_t>(n) * C;
      const float* dyr = dy + static_cast<size_t>(n) * C;
      const float r = rstd[n];
      for (int c = c0; c < c1; ++c) acc[c - c0] += dyr[c] * xr[c] * r;
    }
    for (int c = c0; c < c1; ++c) dw[c] += acc[c - c0];
  }
}

}  // namespace trit
