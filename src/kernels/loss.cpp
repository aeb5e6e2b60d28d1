#include "kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace trit {

void cross_entropy_forward_backward(float* logits, const int32_t* targets, float* losses, float* dlogits, int N,
                                    int V, float grad_scale) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    float* l = logits + static_cast<size_t>(n) * V;
    float mx = -INFINITY;
    for (int v = 0; v < V; ++v) mx = std::max(mx, l[v]);
    double sum = 0.0;
    for (int v = 0; v < V; ++v) sum += std::exp(l[v] - mx);
    const float lse = mx + static_cast<float>(std::log(sum));
    const int tgt = targets[n];
    losses[n] = lse - l[tgt];
    if (dlogits) {
      float* d = dlogits + static_cast<size_t>(n) * V;
      for (int v = 0; v < V; ++v) d[v] = std::exp(l[v] - lse) * grad_scale;
      d[tgt] -= grad_scale;
    }
  }
}

}  // namespace trit
