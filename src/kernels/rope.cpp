#include "kernels/rope.h"

#include <cmath>
#include <cstddef>

namespace trit {

void RopeTable::init(int head_dim, int max_positions, float theta) {
  hd = head_dim;
  max_pos = max_positions;
  const int half = hd / 2;
  cos.resize(static_cast<size_t>(max_pos) * half);
  sin.resize(cos.size());
  for (int i = 0; i < half; ++i) {
    // Same arithmetic as Hugging Face: inv_freq in fp32, angle = fp32(pos * inv_freq).
    const float inv_freq = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(hd));
    for (int p = 0; p < max_pos; ++p) {
      const float a = static_cast<float>(p) * inv_freq;
      cos[static_cast<size_t>(p) * half + i] = std::cos(a);
      sin[static_cast<size_t>(p) * half + i] = std::sin(a);
    }
  }
}

static void rope_apply(float* x, int N, int T, int row_stride, int col0, int n_heads, const RopeTable& rt,
                       float sign) {
  const int hd = rt.hd, half = hd / 2;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const int pos = n % T;
    const float* c = rt.cos.data() + static_cast<size_t>(pos) * half;
    const float* s = rt.sin.data() + static_cast<size_t>(pos) * half;
    float* row = x + static_cast<size_t>(n) * row_stride + col0;
    for (int h = 0; h < n_heads; ++h) {
      float* v = row + h * hd;
      for (int i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half], sn = sign * s[i];
        v[i] = a * c[i] - b * sn;
        v[i + half] = b * c[i] + a * sn;
      }
    }
  }
}

void rope_forward(float* x, int N, int T, int row_stride, int col0, int n_heads, const RopeTable& rt) {
  rope_apply(x, N, T, row_stride, col0, n_heads, rt, 1.0f);
}

void rope_backward(float* dx, int N, int T, int row_stride, int col0, int n_heads, const RopeTable& rt) {
  rope_apply(dx, N, T, row_stride, col0, n_heads, rt, -1.0f);
}

}  // namespace trit
