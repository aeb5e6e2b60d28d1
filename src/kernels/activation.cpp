#include "kernels/activation.h"

#include <cmath>
#include <cstddef>

namespace trit {

void glu_forward(const float* gu, float* h, int N, int F, Activation act) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* g = gu + static_cast<size_t>(n) * 2 * F;
    const float* u = g + F;
    float* hr = h + static_cast<size_t>(n) * F;
    if (act == Activation::SiLU) {
      for (int i = 0; i < F; ++i) hr[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
    } else {
      for (int i = 0; i < F; ++i) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        hr[i] = r * r * u[i];
      }
    }
  }
}

void glu_backward(const float* dh, const float* gu, float* dgu, int N, int F, Activation act) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* g = gu + static_cast<size_t>(n) * 2 * F;
    const float* u = g + F;
    const float* d = dh + static_cast<size_t>(n) * F;
    float* dg = dgu + static_cast<size_t>(n) * 2 * F;
    float* du = dg + F;
    if (act == Activation::SiLU) {
      for (int i = 0; i < F; ++i) {
        const float sg = 1.0f / (1.0f + std::exp(-g[i]));
        const float silu = g[i] * sg;
        du[i] = d[i] * silu;
        dg[i] = d[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
      }
    } else {
      for (int i = 0; i < F; ++i) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        du[i] = d[i] * r * r;
        dg[i] = d[i] * u[i] * 2.0f * r;
      }
    }
  }
}

}  // namespace trit
