// Token sampling from logits: repetition penalty, temperature, top-k, top-p, min-p; greedy when
// temperature is 0. Works in a caller-owned scratch buffer (no allocation per token once sized).
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace trit {

struct SamplerParams {
  float temperature = 0.8f;  // 0: greedy
  int top_k = 40;            // 0: off
  float top_p = 0.95f;       // 1: off
  float min_p = 0.05f;       // 0: off
  float repetition_penalty = 1.1f;  // 1: off (CTRL-style: positive logits divided, negative multiplied)
  int repetition_window = 64;
  uint64_t seed = 42;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {}
  // `history` is the tokens so far (for the repetition penalty).
  uint32_t sample(const float* logits, int vocab, const std::vector<uint32_t>& history);

 private:
  SamplerParams p_;
  Rng rng_;
  std::vector<std::pair<float, uint32_t>> cand_;
  std::vector<float> work_;
};

}  // namespace trit
