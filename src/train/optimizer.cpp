#include "train/optimizer.h"

#include <cmath>
#include <vector>

namespace trit {

void AdamW::update(const Layout& layout, float* params, const float* grads, long t, float lr, float weight_decay) {
  const float b1 = hp.beta1, b2 = hp.beta2, eps = hp.eps;
  // Scalars in double, then rounded once, as torch.optim.AdamW computes them in Python.
  const double bc1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t))));
  const float step_size = static_cast<float>(static_cast<double>(lr) / bc1);
  const float decay_matrix = static_cast<float>(1.0 - static_cast<double>(lr) * weight_decay);
  for (const auto& ti : layout.tensors) {
    const float decay = ti.kind == TensorKind::Norm ? 1.0f : decay_matrix;
    float* p = params + ti.offset;
    const float* g = grads + ti.offset;
    float* mm = m.data() + ti.offset;
    float* vv = v.data() + ti.offset;
    const long n = static_cast<long>(ti.size());
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) {
      p[i] *= decay;
      mm[i] = mm[i] * b1 + g[i] * (1.0f - b1);
      vv[i] = vv[i] * b2 + (1.0f - b2) * g[i] * g[i];
      const float denom = std::sqrt(vv[i]) / bc2_sqrt + eps;
      p[i] += -step_size * (mm[i] / denom);
    }
  }
}

float clip_grad_norm(float* grads, size_t n, float max_norm) {
  // Fixed-size chunks summed in chunk order: the norm does not depend on the thread count.
  const size_t chunk = 1 << 16;
  const size_t nchunks = (n + chunk - 1) / chunk;
  std::vector<double> part(nchunks, 0.0);
#pragma omp parallel for schedule(static)
  for (size_t c = 0; c < nchunks; ++c) {
    double s = 0.0;
    const size_t end = std::min(n, (c + 1) * chunk);
    for (size_t i = c * chunk; i < end; ++i) s += static_cast<double>(grads[i]) * grads[i];
    part[c] = s;
  }
  double total = 0.0;
  for (double s : part) total += s;
  const float norm = static_cast<float>(std::sqrt(total));
  if (max_norm > 0.0f) {
    const float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f) {
#pragma omp parallel for schedule(static)
      for (size_t i = 0; i < n; ++i) grads[i] *= coef;
    }
  }
  return norm;
}

}  // namespace trit
