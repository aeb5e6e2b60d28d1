// AdamW with decoupled weight decay (PyTorch's torch.optim.AdamW arithmetic, step by step) and
// global-norm gradient clipping (torch.nn.utils.clip_grad_norm_). Weight decay applies to matrices
// (embeddings, BitLinear, head), never to norm weights.
#pragma once
#include <vector>

#include "model/layout.h"

namespace trit {

struct AdamWParams {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
};

class AdamW {
 public:
  AdamW() = default;
  AdamW(size_t n, AdamWParams p) : m(n, 0.0f), v(n, 0.0f), hp(p) {}
  // One update of params from grads. `t` counts updates and is 1 on the first.
  void update(const Layout& layout, float* params, const float* grads, long t, float lr, float weight_decay);

  std::vector<float> m, v;
  AdamWParams hp;
};

// Global L2 norm of grads (accumulated in double, fixed order); scales grads so the norm is at most
// max_norm (no-op if max_norm <= 0). Returns the norm before clipping.
float clip_grad_norm(float* grads, size_t n, float max_norm);

}  // namespace trit
