// Sampling options shared by the commands that generate text (generate, chat).
#pragma once
#include <vector>

#include "cli/args.h"
#include "infer/sampler.h"

namespace trit::cli {

std::vector<OptionSpec> sampler_option_specs(float default_temp);
// Reads and range-checks them; errors name the command.
SamplerParams sampler_params_from_args(const Args& a, const char* command, float default_temp);

}  // namespace trit::cli
