#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

namespace trit {

void attention_forward(const float* qkv, float* out, float* probs, const AttentionShape& s) {
  const int B = s.B, T = s.T, H = s.H, KV = s.KV, hd = s.hd, D = s.qkv_stride();
  const int group = H / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int kvh = h / group;
      const float* base = qkv + static_cast<size_t>(b) * T * D;
      float* P = probs + (static_cast<size_t>(b) * H + h) * T * T;
      for (int t = 0; t < T; ++t) {
        const float* q = base + static_cast<size_t>(t) * D + h * hd;
        float* p = P + static_cast<size_t>(t) * T;
        float mx = -INFINITY;
        for (int t2 = 0; t2 <= t; ++t2) {
          const float* k = base + static_cast<size_t>(t2) * D + (H + kvh) * hd;
          float d = 0.0f;
#pragma omp simd reduction(+ : d)
          for (int i = 0; i < hd; ++i) d += q[i] * k[i];
          p[t2] = d * scale;
          mx = std::max(mx, p[t2]);
        }
        float sum = 0.0f;
        for (int t2 = 0; t2 <= t; ++t2) {
          p[t2] = std::exp(p[t2] - mx);
          sum += p[t2];
        }
        const float inv = 1.0f / sum;
        for (int t2 = 0; t2 <= t; ++t2) p[t2] *= inv;
        std::fill(p + t + 1, p + T, 0.0f);
        float* o = out + (static_cast<size_t>(b) * T + t) * (H * hd) + h * hd;
        std::fill(o, o + hd, 0.0f);
        for (int t2 = 0; t2 <= t; ++t2) {
          const float* v = base + static_cast<size_t>(t2) * D + (H + KV + kvh) * hd;
          const float w = p[t2];
#pragma omp simd
          for (int i = 0; i < hd; ++i) o[i] += w * v[i];
        }
      }
    }
}

void attention_backward(const float* dout, const float* qkv, const float* probs, float* dqkv,
                        const AttentionShape& s) {
  const int B = s.B, T = s.T, H = s.H, KV = s.KV, hd = s.hd, D = s.qkv_stride();
  const int group = H / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // One task per (batch, kv head): it owns dk/dv of that head and dq of the query heads that read it.
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int g = 0; g < KV; ++g) {
      std::vector<float> dS(T);
      const float* base = qkv + static_cast<size_t>(b) * T * D;
      float* dbase = dqkv + static_cast<size_t>(b) * T * D;
      for (int t = 0; t < T; ++t) {
        std::memset(dbase + static_cast<size_t>(t) * D + (H + g) * hd, 0, sizeof(float) * hd);
        std::memset(dbase + static_cast<size_t>(t) * D + (H + KV + g) * hd, 0, sizeof(float) * hd);
      }
      for (int h = g * group; h < (g + 1) * group; ++h) {
        const float* P = probs + (static_cast<size_t>(b) * H + h) * T * T;
        for (int t = 0; t < T; ++t) {
          const float* p = P + static_cast<size_t>(t) * T;
          const float* dO = dout + (static_cast<size_t>(b) * T + t) * (H * hd) + h * hd;
          const float* q = base + static_cast<size_t>(t) * D + h * hd;
          float* dq = dbase + static_cast<size_t>(t) * D + h * hd;
          float pdp = 0.0f;
          for (int t2 = 0; t2 <= t; ++t2) {
            const float* v = base + static_cast<size_t>(t2) * D + (H + KV + g) * hd;
            float* dv = dbase + static_cast<size_t>(t2) * D + (H + KV + g) * hd;
            float d = 0.0f;
            const float pw = p[t2];
#pragma omp simd reduction(+ : d)
            for (int i = 0; i < hd; ++i) {
              d += dO[i] * v[i];
              dv[i] += pw * dO[i];
            }
            dS[t2] = d;
            pdp += pw * d;
          }
          std::fill(dq, dq + hd, 0.0f);
          for (int t2 = 0; t2 <= t; ++t2) {
            const float ds = p[t2] * (dS[t2] - pdp) * scale;
            const float* k = base + static_cast<size_t>(t2) * D + (H + g) * hd;
            float* dk = dbase + static_cast<size_t>(t2) * D + (H + g) * hd;
#pragma omp simd
            for (int i = 0; i < hd; ++i) {
              dq[i] += ds * k[i];
              dk[i] += ds * q[i];
            }
          }
        }
      }
    }
}

}  // namespace trit
