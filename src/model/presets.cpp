// Named model shapes.
//
// BitCPM-CANN sizes (0.5b, 1b, 3b, 8b): the report (docs/BitCPM_CANN.pdf in OpenBMB/MiniCPM) says each
// is architecturally identical to MiniCPM4 of that size but prints no shape table; the numbers here
// come from:
//   8b   : config.json of openbmb/InfLLM-V2-Long-Sparse-Base (_name_or_path openbmb/MiniCPM4-8B):
//          hidden 4096, FFN 16384, 32 layers, 32 heads, 2 KV heads, eps 1e-6, 32k positions;
//          vocab 73448 and untied head from the MiniCPM4-8B GGUF metadata / file size (16.4 GB bf16).
//   0.5b : MiniCPM4-0.5B GGUF metadata: hidden 1024, FFN 4096, 24 layers, 16 heads, 2 KV heads,
//          tied embeddings (434M parameters = the 868 MB bf16 files of MiniCPM4-0.5B/BitCPM4-0.5B).
//   1b   : the BitCPM-CANN 1B GGUF metadata (llama architecture): hidden 2048, FFN 6144, 28 layers,
//          16 heads, 2 KV heads, untied head. No full-precision MiniCPM4-1B config is published.
//   3b   : a published note on the BitCPM-CANN 3B config: hidden 2560, FFN 10240, 32 layers, 32 heads
//          (head size 80), 2 KV heads, untied. Least certain of the four.
// rope_theta 10000 for all four; MiniCPM's muP multipliers (scale_emb, scale_depth, dim_model_base)
// are not modelled: these presets give the shapes for speed and memory work, not weight import.
//
// Presets that train here: nano (~1M, tests), micro (~10M, the demo), small (the PyTorch comparison
// shape of the reference file: dim 512, 8 layers, 8 heads, SwiGLU 1536, vocab 8192, untied, ctx 256).
#include "core/error.h"
#include "model/config.h"

namespace trit {

namespace {
struct Preset {
  const char* name;
  int C, F, L, H, KV, V, ctx;
  bool tied;
  float eps;
};
constexpr Preset kPresets[] = {
    {"nano", 128, 384, 4, 4, 2, 1024, 256, false, 1e-5f},
    {"micro", 256, 768, 8, 8, 4, 8192, 256, false, 1e-5f},
    {"small", 512, 1536, 8, 8, 8, 8192, 256, false, 1e-5f},
    {"0.5b", 1024, 4096, 24, 16, 2, 73448, 32768, true, 1e-5f},
    {"1b", 2048, 6144, 28, 16, 2, 73448, 32768, false, 1e-5f},
    {"3b", 2560, 10240, 32, 32, 2, 73448, 32768, false, 1e-5f},
    {"8b", 4096, 16384, 32, 32, 2, 73448, 32768, false, 1e-6f},
};
}  // namespace

Config preset_config(const std::string& name) {
  for (const auto& p : kPresets) {
    if (name != p.name) continue;
    Config c;
    c.hidden_size = p.C;
    c.intermediate_size = p.F;
    c.num_hidden_layers = p.L;
    c.num_attention_heads = p.H;
    c.num_key_value_heads = p.KV;
    c.vocab_size = p.V;
    c.max_position_embeddings = p.ctx;
    c.tie_word_embeddings = p.tied;
    c.rms_norm_eps = p.eps;
    c.validate();
    return c;
  }
  fail(strf("unknown preset '%s' (known: %s)", name.c_str(), preset_names().c_str()));
}

std::string preset_names() {
  std::string s;
  for (const auto& p : kPresets) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

}  // namespace trit
