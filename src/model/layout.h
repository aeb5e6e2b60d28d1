// Where every parameter lives in the one contiguous fp32 buffer (llm.c style). The order is fixed:
//   model.embed_tokens.weight [V, C]
//   per layer i (model.layers.i.*):
//     input_layernorm.weight [C]
//     self_attn.q_proj.weight [H*hd, C]   } contiguous: one fused [(H+2KV)*hd, C] matrix
//     self_attn.k_proj.weight [KV*hd, C]  }
//     self_attn.v_proj.weight [KV*hd, C]  }
//     self_attn.sub_norm.weight [C]       (only with SubLN)
//     self_attn.o_proj.weight [C, H*hd]
//     post_attention_layernorm.weight [C]
//     mlp.gate_proj.weight [F, C]         } contiguous: one fused [2F, C] matrix
//     mlp.up_proj.weight [F, C]           }
//     mlp.sub_norm.weight [F]             (only with SubLN)
//     mlp.down_proj.weight [C, F]
//   model.norm.weight [C]
//   lm_head.weight [V, C]                 (only when embeddings are not tied)
// Names are Hugging Face's, so that importers and the PyTorch golden share them.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "model/config.h"

namespace trit {

enum class TensorKind { Embedding, Norm, BitLinear, Head };

struct TensorInfo {
  std::string name;
  TensorKind kind;
  int rows = 0, cols = 0;  // a vector has rows == 1
  size_t offset = 0;       // in floats, into the parameter buffer
  size_t size() const { return static_cast<size_t>(rows) * cols; }
  bool is_matrix() const { return rows > 1; }
};

struct LayerOffsets {
  size_t attn_norm, wqkv, attn_sub_norm, wo, ffn_norm, wgu, ffn_sub_norm, wdown;
};

struct Layout {
  std::vector<TensorInfo> tensors;
  std::vector<LayerOffsets> layers;
  size_t embed = 0, final_norm = 0, head = 0;  // head == embed when tied
  size_t total = 0;                            // floats
  const TensorInfo* find(const std::string& name) const;
};

Layout make_layout(const Config& c);

}  // namespace trit
