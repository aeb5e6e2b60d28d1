#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trit {

void Schedule::validate() const {
  TRIT_CHECK(kind == "cosine" || kind == "wsd" || kind == "two-stage",
             "unknown schedule '%s' (expected cosine, wsd or two-stage)", kind.c_str());
  TRIT_CHECK(lr > 0.0f && std::isfinite(lr), "learning rate must be positive, got %g", lr);
  TRIT_CHECK(total > 0, "the number of steps must be positive");
  TRIT_CHECK(warmup >= 0, "warmup must not be negative");
  TRIT_CHECK(weight_decay >= 0.0f, "weight decay must not be negative");
  TRIT_CHECK(decay_frac > 0.0f && decay_frac <= 1.0f, "wsd decay fraction must be in (0, 1]");
}

float Schedule::lr_at(long step) const {
  const float min_lr = lr * min_lr_frac;
  const long w = std::min(warmup, total);
  if (step < w) return lr * static_cast<float>(step + 1) / static_cast<float>(w);
  const long span = std::max(1L, total - w);
  const float p = std::min(1.0f, static_cast<float>(step - w) / static_cast<float>(span));
  if (kind == "cosine") return min_lr + 0.5f * (1.0f + std::cos(static_cast<float>(M_PI) * p)) * (lr - min_lr);
  if (kind == "wsd") {
    const float stable_end = 1.0f - decay_frac;
    if (p < stable_end) return lr;
    return lr + (min_lr - lr) * (p - stable_end) / decay_frac;
  }
  // two-stage
  const long half = total / 2;
  if (step < half) {
    const float p1 = static_cast<float>(step - w) / static_cast<float>(std::max(1L, half - w));
    return lr * (1.0f - 0.2f * std::min(1.0f, std::max(0.0f, p1)));
  }
  const float p2 = static_cast<float>(step - half) / static_cast<float>(std::max(1L, total - half));
  const float peak2 = lr * stage2_frac;
  return peak2 + (min_lr - peak2) * std::min(1.0f, p2);
}

float Schedule::weight_decay_at(long step) const {
  if (kind == "two-stage" && step >= total / 2) return 0.0f;
  return weight_decay;
}

}  // namespace trit
