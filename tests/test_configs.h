// Small model shapes for tests, written in one line each.
#pragma once
#include "model/config.h"

namespace trit::test {

inline Config shape(int hidden, int ffn, int layers, int heads, int kv_heads, int vocab, int context) {
  Config c;
  c.hidden_size = hidden;
  c.intermediate_size = ffn;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.vocab_size = vocab;
  c.max_position_embeddings = context;
  return c;
}

}  // namespace trit::test
