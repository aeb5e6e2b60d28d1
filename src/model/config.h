// Model configuration. JSON files use Hugging Face config.json key names for the architecture and
// "trit_*" keys for what Hugging Face has no name for (quantization, SubLN).
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace trit {

enum class Precision { Ternary, FP };

struct Config {
  // architecture (Hugging Face names)
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  std::string hidden_act = "silu";  // "silu" (SwiGLU) or "relu2" (gated squared ReLU)
  bool tie_word_embeddings = false;
  float rms_norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  // trit's own keys
  bool subln = false;                  // trit_subln: extra RMSNorm before o_proj and down_proj (2B4T)
  Precision precision = Precision::Ternary;  // trit_precision: "ternary" | "fp"
  int group_size = 0;                  // trit_group_size: "tensor" (0) | "row" (-1) | 32..256
  int act_bits = 8;                    // trit_act_bits: 8 | "none" (0)

  int head_dim() const { return hidden_size / num_attention_heads; }
  int qkv_dim() const { return (num_attention_heads + 2 * num_key_value_heads) * head_dim(); }
  bool ternary() const { return precision == Precision::Ternary; }

  // Throws trit::Error naming the first impossible field.
  void validate() const;
};

Config config_from_json(const nlohmann::json& j);
nlohmann::json config_to_json(const Config& c);
Config load_config_file(const std::string& path);
// Named presets (see presets.cpp for where each shape comes from). Unknown name -> trit::Error.
Config preset_config(const std::string& name);
std::string preset_names();

// "tensor" | "row" | "32".."256" <-> group_size; throws on anything else.
int parse_group_size(const std::string& s);
std::string group_size_name(int g);
int parse_act_bits(const std::string& s);

}  // namespace trit
