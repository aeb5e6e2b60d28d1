#include "cli/model_args.h"

#include "core/error.h"

namespace trit::cli {

std::vector<OptionSpec> model_option_specs() {
  return {{"preset", "NAME", "model shape: " + preset_names()},
          {"config", "FILE", "model config JSON (Hugging Face key names + trit_* keys)"},
          {"precision", "P", "ternary (default) or fp (plain linear layers: the baseline)"},
          {"group-size", "G", "ternary scale per tensor (default), row, or 32|64|128|256 inputs"},
          {"act-bits", "B", "8 (W1.58A8, default) or none (weight-only, BitCPM4)"},
          {"subln", "", "add SubLN norms before o_proj and down_proj (BitNet b1.58 2B4T)"},
          {"hidden-act", "A", "silu (SwiGLU) or relu2 (gated squared ReLU)"},
          {"tie-embeddings", "", "share the embedding matrix with the output head"}};
}

Config model_config_from_args(const Args& a, const char* command) {
  TRIT_CHECK(a.has("preset") != a.has("config"), "%s: give exactly one of --preset NAME or --config FILE", command);
  Config c = a.has("preset") ? preset_config(a.str("preset")) : load_config_file(a.str("config"));
  if (a.has("precision")) {
    const std::string p = a.str("precision");
    TRIT_CHECK(p == "ternary" || p == "fp", "%s: --precision must be ternary or fp, got '%s'", command, p.c_str());
    c.precision = p == "fp" ? Precision::FP : Precision::Ternary;
  }
  if (a.has("group-size")) c.group_size = parse_group_size(a.str("group-size"));
  if (a.has("act-bits")) c.act_bits = parse_act_bits(a.str("act-bits"));
  if (a.flag("subln")) c.subln = true;
  if (a.has("hidden-act")) c.hidden_act = a.str("hidden-act");
  if (a.flag("tie-embeddings")) c.tie_word_embeddings = true;
  c.validate();
  return c;
}

}  // namespace trit::cli
