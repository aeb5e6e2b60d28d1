#include "cli/engine_args.h"

#include "core/error.h"

namespace trit::cli {

OptionSpec kv_type_option_spec() {
  return {"kv-type", "T",
          "KV cache values: f32 (default; logits as training computes them) or f16 (half the memory and "
          "bytes per token at long contexts)"};
}

KvType kv_type_from_args(const Args& a, const char* command) {
  const std::string t = a.str("kv-type", "f32");
  if (t == "f32") return KvType::F32;
  if (t == "f16") return KvType::F16;
  fail(strf("%s: --kv-type must be f32 or f16, not '%s'", command, t.c_str()));
}

}  // namespace trit::cli
