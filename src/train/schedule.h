// Learning-rate and weight-decay schedules, functions of the step (0-based) alone.
//   cosine   : linear warmup to lr, cosine decay to min_lr_frac*lr at the last step
//   wsd      : warmup, stable at lr, linear decay to min_lr_frac*lr over the last decay_frac of steps
//   two-stage: BitNet b1.58's recipe: warmup; stage 1 (first half) decays linearly from lr to 0.8*lr
//              with weight decay `wd`; stage 2 restarts at stage2_frac*lr (2/3: 1.5e-3 -> 1e-3 in the
//              700M recipe), decays linearly to min_lr_frac*lr, weight decay 0.
#pragma once
#include <string>

namespace trit {

struct Schedule {
  std::string kind = "cosine";
  float lr = 2e-3f;
  float min_lr_frac = 0.1f;
  long warmup = 100;
  long total = 1000;
  float weight_decay = 0.1f;
  float decay_frac = 0.2f;    // wsd
  float stage2_frac = 2.0f / 3.0f;  // two-stage

  float lr_at(long step) const;
  float weight_decay_at(long step) const;
  void validate() const;  // throws trit::Error on an unknown kind or impossible numbers
};

}  // namespace trit
