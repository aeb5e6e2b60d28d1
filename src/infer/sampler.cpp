#include "infer/sampler.h"

#include <algorithm>
#include <cmath>

namespace trit {

uint32_t Sampler::sample(const float* logits, int V, const std::vector<uint32_t>& history) {
  work_.assign(logits, logits + V);
  if (p_.repetition_penalty != 1.0f) {
    const size_t from = history.size() > static_cast<size_t>(p_.repetition_window)
                            ? history.size() - p_.repetition_window
                            : 0;
    for (size_t i = from; i < history.size(); ++i) {
      float& l = work_[history[i]];
      // Apply once per distinct token: mark by checking an earlier occurrence in the window.
      if (std::find(history.begin() + from, history.begin() + i, history[i]) != history.begin() + i) continue;
      l = l > 0 ? l / p_.repetition_penalty : l * p_.repetition_penalty;
    }
  }
  if (p_.temperature <= 0.0f) return static_cast<uint32_t>(std::max_element(work_.begin(), work_.end()) - work_.begin());
  cand_.resize(V);
  for (int i = 0; i < V; ++i) cand_[i] = {work_[i] / p_.temperature, static_cast<uint32_t>(i)};
  size_t n = V;
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first; };
  if (p_.top_k > 0 && p_.top_k < V) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
    n = p_.top_k;
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  const float mx = cand_[0].first;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cand_[i].first = std::exp(cand_[i].first - mx);
    sum += cand_[i].first;
  }
  // min-p: drop tokens below min_p * p(top); top-p: keep the smallest prefix with mass >= top_p.
  size_t keep = n;
  double kept_mass = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double pr = cand_[i].first / sum;
    if (p_.min_p > 0.0f && cand_[i].first < p_.min_p * cand_[0].first) {
      keep = i;
      break;
    }
    kept_mass += pr;
    if (p_.top_p < 1.0f && kept_mass >= p_.top_p) {
      keep = i + 1;
      break;
    }
  }
  keep = std::max<size_t>(keep, 1);
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) total += cand_[i].first;
  double r = rng_.uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= cand_[i].first;
    if (r <= 0.0) return cand_[i].second;
  }
  return cand_[keep - 1].second;
}

}  // namespace trit
