// Causal grouped-query attention for training.
// Layout: qkv [B*T, D] with D = (H + 2*KV) * hd; q heads at columns [0, H*hd), k heads at
// [H*hd, (H+KV)*hd), v heads after; query head h reads kv head h / (H/KV).
// out [B*T, H*hd]; probs [B, H, T, T] saved for backward (entries above the diagonal are zero).
#pragma once
#include <cstddef>

#include "core/threads.h"

namespace trit {

struct AttentionShape {
  int B, T, H, KV, hd;
  int qkv_stride() const { return (H + 2 * KV) * hd; }
};

void attention_forward(const float* qkv, float* out, float* probs, const AttentionShape& s);
// dqkv is overwritten (all of its columns), dout and the saved tensors are read.
void attention_backward(const float* dout, const float* qkv, const float* probs, float* dqkv,
                        const AttentionShape& s);

// Inference: causal attention of n new tokens at positions pos .. pos+n-1 over a KV cache that
// already holds positions 0 .. pos+n-1 (the new ones included). Layouts: q [n][q_stride], head h at
// columns h*hd (query head h reads kv head h / (H/KV)); k_cache, v_cache [KV][head_stride] elements
// of type kv (fp32, or IEEE fp16), a kv head's positions hd elements apart ([KV][n_ctx][hd] with
// head_stride = n_ctx*hd, so that one head's keys are one contiguous stream); out [n][out_stride];
// scores: workspace of H * n * (pos+n) floats. share: the heads of one share only, inside the
// caller's parallel region (core/threads.h; one token only).
enum class KvType { F32, F16 };
void attention_cached(const float* q, int q_stride, const void* k_cache, const void* v_cache, KvType kv,
                      size_t head_stride, int n, int pos, int H, int KV, int hd, float* scores, float* out,
                      int out_stride, Share share = {});
// n values into the cache, converted to its element type (fp16: round to nearest even).
void kv_store(const float* src, void* dst, KvType kv, int n);

}  // namespace trit
