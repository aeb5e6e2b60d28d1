// Engine options shared by the commands that run a GGUF model (generate, chat, bench).
#pragma once
#include "cli/args.h"
#include "kernels/attention.h"

namespace trit::cli {

OptionSpec kv_type_option_spec();
// --kv-type f32 (default) | f16; an unknown name is an error naming the command.
KvType kv_type_from_args(const Args& a, const char* command);

}  // namespace trit::cli
