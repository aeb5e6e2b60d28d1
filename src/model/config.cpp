#include "model/config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"

namespace trit {

int parse_group_size(const std::string& s) {
  if (s == "tensor") return 0;
  if (s == "row") return -1;
  if (s == "32" || s == "64" || s == "128" || s == "256") return std::stoi(s);
  fail(strf("unknown group size '%s' (expected tensor, row, 32, 64, 128 or 256)", s.c_str()));
}

std::string group_size_name(int g) {
  if (g == 0) return "tensor";
  if (g == -1) return "row";
  return std::to_string(g);
}

int parse_act_bits(const std::string& s) {
  if (s == "8") return 8;
  if (s == "none") return 0;
  fail(strf("unknown activation bits '%s' (expected 8 or none)", s.c_str()));
}

void Config::validate() const {
  auto positive = [](int v, const char* name) { TRIT_CHECK(v > 0, "config: %s must be positive, got %d", name, v); };
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(vocab_size, "vocab_size");
  positive(max_position_embeddings, "max_position_embeddings");
  TRIT_CHECK(hidden_size % num_attention_heads == 0,
             "config: hidden_size %d is not divisible by num_attention_heads %d", hidden_size, num_attention_heads);
  TRIT_CHECK(num_attention_heads % num_key_value_heads == 0,
             "config: num_attention_heads %d is not divisible by num_key_value_heads %d", num_attention_heads,
             num_key_value_heads);
  TRIT_CHECK(head_dim() % 2 == 0, "config: head dimension %d must be even for RoPE", head_dim());
  TRIT_CHECK(hidden_act == "silu" || hidden_act == "relu2",
             "config: hidden_act '%s' is not supported (expected silu or relu2)", hidden_act.c_str());
  TRIT_CHECK(rms_norm_eps > 0.0f && rms_norm_eps < 1.0f, "config: rms_norm_eps %g is out of range", rms_norm_eps);
  TRIT_CHECK(rope_theta > 1.0f, "config: rope_theta %g must be > 1", rope_theta);
  TRIT_CHECK(act_bits == 0 || act_bits == 8, "config: trit_act_bits must be 8 or none");
  TRIT_CHECK(group_size == 0 || group_size == -1 || group_size == 32 || group_size == 64 || group_size == 128 ||
                 group_size == 256,
             "config: trit_group_size %d is not one of tensor, row, 32, 64, 128, 256", group_size);
  if (group_size > 0) {
    TRIT_CHECK(hidden_size % group_size == 0, "config: hidden_size %d is not divisible by group size %d",
               hidden_size, group_size);
    TRIT_CHECK(intermediate_size % group_size == 0,
               "config: intermediate_size %d is not divisible by group size %d", intermediate_size, group_size);
  }
  const double params = static_cast<double>(hidden_size) * vocab_size * 2 +
                        static_cast<double>(num_hidden_layers) * hidden_size * (4.0 * hidden_size + 3.0 * intermediate_size);
  TRIT_CHECK(params < 1e11, "config: %.3g parameters is beyond what trit supports", params);
}

template <typename T>
static void get_opt(const nlohmann::json& j, const char* key, T& out) {
  if (!j.contains(key) || j[key].is_null()) return;
  try {
    out = j[key].get<T>();
  } catch (const nlohmann::json::exception& e) {
    fail(strf("config: key '%s' has the wrong type: %s", key, e.what()));
  }
}

Config config_from_json(const nlohmann::json& j) {
  TRIT_CHECK(j.is_object(), "config: expected a JSON object");
  Config c;
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                          "max_position_embeddings"})
    TRIT_CHECK(j.contains(key), "config: missing key '%s'", key);
  get_opt(j, "hidden_size", c.hidden_size);
  get_opt(j, "intermediate_size", c.intermediate_size);
  get_opt(j, "num_hidden_layers", c.num_hidden_layers);
  get_opt(j, "num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = c.num_attention_heads;
  get_opt(j, "num_key_value_heads", c.num_key_value_heads);
  get_opt(j, "vocab_size", c.vocab_size);
  get_opt(j, "max_position_embeddings", c.max_position_embeddings);
  get_opt(j, "hidden_act", c.hidden_act);
  get_opt(j, "tie_word_embeddings", c.tie_word_embeddings);
  get_opt(j, "rms_norm_eps", c.rms_norm_eps);
  get_opt(j, "rope_theta", c.rope_theta);
  get_opt(j, "trit_subln", c.subln);
  if (j.contains("trit_precision")) {
    std::string p;
    get_opt(j, "trit_precision", p);
    TRIT_CHECK(p == "ternary" || p == "fp", "config: trit_precision '%s' (expected ternary or fp)", p.c_str());
    c.precision = p == "fp" ? Precision::FP : Precision::Ternary;
  }
  if (j.contains("trit_group_size")) {
    const auto& g = j["trit_group_size"];
    c.group_size = parse_group_size(g.is_string() ? g.get<std::string>() : g.dump());
  }
  if (j.contains("trit_act_bits")) {
    const auto& a = j["trit_act_bits"];
    c.act_bits = a.is_null() ? 0 : parse_act_bits(a.is_string() ? a.get<std::string>() : a.dump());
  }
  c.validate();
  return c;
}

nlohmann::json config_to_json(const Config& c) {
  nlohmann::json j;
  j["architectures"] = {"TritForCausalLM"};
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["hidden_act"] = c.hidden_act;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["trit_subln"] = c.subln;
  j["trit_precision"] = c.ternary() ? "ternary" : "fp";
  j["trit_group_size"] = group_size_name(c.group_size);
  j["trit_act_bits"] = c.act_bits == 8 ? "8" : "none";
  return j;
}

Config load_config_file(const std::string& path) {
  std::string text = read_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(strf("config '%s' is not valid JSON: %s", path.c_str(), e.what()));
  }
  try {
    return config_from_json(j);
  } catch (const Error& e) {
    fail(strf("%s (in '%s')", e.what(), path.c_str()));
  }
}

}  // namespace trit
