// Options shared by the commands that build a model: --preset/--config and the quantization keys.
#pragma once
#include <vector>

#include "cli/args.h"
#include "model/config.h"

namespace trit::cli {

std::vector<OptionSpec> model_option_specs();
// --preset NAME or --config FILE, then --precision/--group-size/--act-bits/--subln/--hidden-act.
Config model_config_from_args(const Args& a, const char* command);

}  // namespace trit::cli
