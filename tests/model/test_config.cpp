#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/config.h"
#include "model/layout.h"

using namespace trit;

namespace {
size_t params_of(const char* preset) { return make_layout(preset_config(preset)).total; }
}  // namespace

TEST(Config, PresetSizes) {
  EXPECT_NEAR(params_of("nano") / 1e6, 1.0, 0.3);
  EXPECT_NEAR(params_of("micro") / 1e6, 10.0, 2.0);
  EXPECT_NEAR(params_of("small") / 1e6, 35.7, 0.1);  // the reference file's PyTorch shape
  EXPECT_NEAR(params_of("0.5b") / 1e6, 434, 5);      // MiniCPM4-0.5B: 868 MB in bf16
  EXPECT_NEAR(params_of("8b") / 1e9, 8.19, 0.05);    // MiniCPM4-8B: 16.4 GB in bf16
  const Config s = preset_config("small");
  EXPECT_EQ(s.hidden_size, 512);
  EXPECT_EQ(s.num_hidden_layers, 8);
  EXPECT_EQ(s.num_attention_heads, 8);
  EXPECT_EQ(s.num_key_value_heads, 8);
  EXPECT_EQ(s.intermediate_size, 1536);
  EXPECT_EQ(s.vocab_size, 8192);
  EXPECT_FALSE(s.tie_word_embeddings);
  EXPECT_EQ(s.max_position_embeddings, 256);
  EXPECT_THROW(preset_config("9b"), Error);
}

TEST(Config, JsonRoundTripWithHuggingFaceKeys) {
  Config c = preset_config("micro");
  c.subln = true;
  c.hidden_act = "relu2";
  c.group_size = 128;
  c.act_bits = 0;
  c.precision = Precision::Ternary;
  const nlohmann::json j = config_to_json(c);
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "num_key_value_heads", "vocab_size", "max_position_embeddings", "hidden_act",
                          "tie_word_embeddings", "rms_norm_eps", "rope_theta"})
    EXPECT_TRUE(j.contains(key)) << key;
  const Config d = config_from_json(j);
  EXPECT_EQ(config_to_json(d), j);
  EXPECT_EQ(d.group_size, 128);
  EXPECT_EQ(d.act_bits, 0);
  EXPECT_TRUE(d.subln);
}

TEST(Config, DefaultsKvHeadsToHeadsAndRejectsImpossibleShapes) {
  nlohmann::json j = {{"hidden_size", 64}, {"intermediate_size", 128}, {"num_hidden_layers", 1},
                      {"num_attention_heads", 4}, {"vocab_size", 10}, {"max_position_embeddings", 16}};
  EXPECT_EQ(config_from_json(j).num_key_value_heads, 4);
  auto bad = [&](const char* key, nlohmann::json v) {
    auto k = j;
    k[key] = v;
    EXPECT_THROW(config_from_json(k), Error) << key << "=" << v;
  };
  bad("hidden_size", 66);
  bad("num_key_value_heads", 3);
  bad("vocab_size", 0);
  bad("hidden_act", "gelu");
  bad("trit_group_size", 48);
  bad("trit_act_bits", 4);
  bad("trit_precision", "int4");
  bad("hidden_size", "big");
  auto k = j;
  k.erase("vocab_size");
  EXPECT_THROW(config_from_json(k), Error);
}

TEST(Layout, FusedProjectionsAreContiguous) {
  Config c = preset_config("nano");
  c.subln = true;
  const Layout L = make_layout(c);
  const auto* q = L.find("model.layers.1.self_attn.q_proj.weight");
  const auto* k = L.find("model.layers.1.self_attn.k_proj.weight");
  const auto* v = L.find("model.layers.1.self_attn.v_proj.weight");
  const auto* g = L.find("model.layers.1.mlp.gate_proj.weight");
  const auto* u = L.find("model.layers.1.mlp.up_proj.weight");
  ASSERT_TRUE(q && k && v && g && u);
  EXPECT_EQ(q->offset + q->size(), k->offset);
  EXPECT_EQ(k->offset + k->size(), v->offset);
  EXPECT_EQ(g->offset + g->size(), u->offset);
  EXPECT_TRUE(L.find("model.layers.0.mlp.sub_norm.weight"));
  size_t total = 0;
  for (const auto& t : L.tensors) total += t.size();
  EXPECT_EQ(total, L.total);
}
