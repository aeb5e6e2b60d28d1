#include "kernels/activation.h"

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

// glibc's vector expf (libmvec), declared here: math.h declares it only under -ffast-math.
#pragma GCC push_options
#pragma GCC target("avx512f")
extern "C" __m512 _ZGVeN16v_expf(__m512);
#pragma GCC pop_options

#include <cmath>
#include <cstddef>

#include "core/cpu.h"

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


__attribute__((target("avx512f"))) static int silu_row_avx512(const float* g, const float* u, float* h, int F) {
  int i = 0;
  const __m512 one = _mm512_set1_ps(1.0f);
  for (; i + 16 <= F; i += 16) {
    const __m512 gv = _mm512_loadu_ps(g + i);
    const __m512 e = _ZGVeN16v_expf(_mm512_sub_ps(_mm512_setzero_ps(), gv));
    _mm512_storeu_ps(h + i, _mm512_mul_ps(_mm512_div_ps(gv, _mm512_add_ps(one, e)), _mm512_loadu_ps(u + i)));
  }
  return i;
}

__attribute__((target("avx512f"))) static int exp_shifted_avx512(float* x, int n, float mx, float* sum) {
  int i = 0;
  const __m512 m = _mm512_set1_ps(mx);
  __m512 acc = _mm512_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    const __m512 e = _ZGVeN16v_expf(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
    _mm512_storeu_ps(x + i, e);
    acc = _mm512_add_ps(acc, e);
  }
  *sum = _mm512_reduce_add_ps(acc);
  return i;
}

float exp_shifted_sum(float* x, int n, float mx) {
  float sum = 0.0f;
  const int done = cpu_has_avx512f() ? exp_shifted_avx512(x, n, mx, &sum) : 0;
  for (int i = done; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  return sum;
}

void glu_row(const float* g, const float* u, float* h, int F, Activation act) {
  if (act == Activation::ReLU2) {
    for (int i = 0; i < F; ++i) {
      const float r = g[i] > 0.0f ? g[i] : 0.0f;
      h[i] = r * r * u[i];
    }
    return;
  }
  const int done = cpu_has_avx512f() ? silu_row_avx512(g, u, h, F) : 0;
  for (int i = done; i < F; ++i) h[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

}  // namespace trit
