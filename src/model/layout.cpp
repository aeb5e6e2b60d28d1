#include "model/layout.h"

namespace trit {

const TensorInfo* Layout::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Layout make_layout(const Config& c) {
  Layout L;
  const int C = c.hidden_size, F = c.intermediate_size, hd = c.head_dim();
  const int H = c.num_attention_heads, KV = c.num_key_value_heads, V = c.vocab_size;
  auto add = [&](const std::string& name, TensorKind kind, int rows, int cols) {
    TensorInfo t{name, kind, rows, cols, L.total};
    L.total += t.size();
    L.tensors.push_back(t);
    return t.offset;
  };
  L.embed = add("model.embed_tokens.weight", TensorKind::Embedding, V, C);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerOffsets o{};
    o.attn_norm = add(p + "input_layernorm.weight", TensorKind::Norm, 1, C);
    o.wqkv = add(p + "self_attn.q_proj.weight", TensorKind::BitLinear, H * hd, C);
    add(p + "self_attn.k_proj.weight", TensorKind::BitLinear, KV * hd, C);
    add(p + "self_attn.v_proj.weight", TensorKind::BitLinear, KV * hd, C);
    o.attn_sub_norm = c.subln ? add(p + "self_attn.sub_norm.weight", TensorKind::Norm, 1, H * hd) : 0;
    o.wo = add(p + "self_attn.o_proj.weight", TensorKind::BitLinear, C, H * hd);
    o.ffn_norm = add(p + "post_attention_layernorm.weight", TensorKind::Norm, 1, C);
    o.wgu = add(p + "mlp.gate_proj.weight", TensorKind::BitLinear, F, C);
    add(p + "mlp.up_proj.weight", TensorKind::BitLinear, F, C);
    o.ffn_sub_norm = c.subln ? add(p + "mlp.sub_norm.weight", TensorKind::Norm, 1, F) : 0;
    o.wdown = add(p + "mlp.down_proj.weight", TensorKind::BitLinear, C, F);
    L.layers.push_back(o);
  }
  L.final_norm = add("model.norm.weight", TensorKind::Norm, 1, C);
  L.head = c.tie_word_embeddings ? L.embed : add("lm_head.weight", TensorKind::Head, V, C);
  return L;
}

}  // namespace trit
