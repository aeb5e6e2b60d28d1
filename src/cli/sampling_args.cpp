#include "cli/sampling_args.h"

#include "core/error.h"

namespace trit::cli {

std::vector<OptionSpec> sampler_option_specs(float default_temp) {
  return {{"temp", "X", strf("temperature, 0 = greedy (default %g)", default_temp)},
          {"top-k", "K", "top-k (default 40, 0 = off)"},
          {"top-p", "X", "top-p (default 0.95, 1 = off)"},
          {"min-p", "X", "min-p (default 0.05, 0 = off)"},
          {"repeat-penalty", "X", "repetition penalty (default 1 = off; 1.1 is a common choice)"},
          {"seed", "S", "sampling seed (default 42)"}};
}

SamplerParams sampler_params_from_args(const Args& a, const char* command, float default_temp) {
  SamplerParams sp;
  sp.temperature = static_cast<float>(a.number("temp", default_temp));
  sp.top_k = static_cast<int>(a.integer("top-k", 40));
  sp.top_p = static_cast<float>(a.number("top-p", 0.95));
  sp.min_p = static_cast<float>(a.number("min-p", 0.05));
  sp.repetition_penalty = static_cast<float>(a.number("repeat-penalty", 1.0));
  sp.seed = static_cast<uint64_t>(a.integer("seed", 42));
  TRIT_CHECK(sp.temperature >= 0 && sp.top_k >= 0 && sp.top_p > 0 && sp.top_p <= 1 && sp.min_p >= 0 &&
                 sp.min_p < 1 && sp.repetition_penalty > 0,
             "%s: sampling parameters out of range (temp >= 0, top-k >= 0, 0 < top-p <= 1, 0 <= min-p < 1, "
             "repeat-penalty > 0)",
             command);
  return sp;
}

}  // namespace trit::cli
