// Causal grouped-query attention for training.
// Layout: qkv [B*T, D] with D = (H + 2*KV) * hd; q heads at columns [0, H*hd), k heads at
// [H*hd, (H+KV)*hd), v heads after; query head h reads kv head h / (H/KV).
// out [B*T, H*hd]; probs [B, H, T, T] saved for backward (entries above the diagonal are zero).
#pragma once

namespace trit {

struct AttentionShape {
  int B, T, H, KV, hd;
  int qkv_stride() const { return (H + 2 * KV) * hd; }
};

void attention_forward(const float* qkv, float* out, float* probs, const AttentionShape& s);
// dqkv is overwritten (all of its columns), dout and the saved tensors are read.
void attention_backward(const float* dout, const float* qkv, const float* probs, float* dqkv,
                        const AttentionShape& s);

}  // namespace trit
