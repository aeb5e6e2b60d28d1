// The inference engine: one token at a time over weights that stay where they are (the mapped
// model file), a KV cache, and buffers allocated once (nothing is allocated per token).
// Weights arrive as EngineWeights (io/model_loader builds them from a GGUF file), so this layer
// does not parse files. RoPE uses llama.cpp's adjacent pairs (2i, 2i+1): model files store Q/K rows
// in that order.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/attention.h"
#include "kernels/dense_gemv.h"
#include "kernels/rope.h"
#include "kernels/ternary_gemv.h"
#include "model/config.h"

namespace trit {

struct LinearWeight {
  bool ternary = false;  // true: trit2 codes + scales; false: dense
  Trit2Matrix t2{};
  DenseMatrix dense{};
  int rows() const { return ternary ? t2.rows : dense.rows; }
  int cols() const { return ternary ? t2.cols : dense.cols; }
};

struct LayerWeights {
  const float *attn_norm = nullptr, *ffn_norm = nullptr, *attn_sub_norm = nullptr, *ffn_sub_norm = nullptr;
  LinearWeight wq, wk, wv, wo, wgate, wup, wdown;
};

struct EngineWeights {
  Config config;
  bool act_quant = false;  // W1.58A8: int8 per-token activations into every ternary product
  DenseMatrix embd{}, head{};
  const float* output_norm = nullptr;
  std::vector<LayerWeights> layers;
  std::shared_ptr<const void> keep_alive;  // owns the mapping the pointers point into
  uint64_t bytes_per_token = 0;            // weight bytes one decode step reads
};

class Engine {
 public:
  // Prompts are processed up to max_batch tokens at a time (at most n_ctx). The KV cache holds fp32
  // or fp16 values.
  Engine(EngineWeights w, int n_ctx, int max_batch = 256, KvType kv = KvType::F32);
  const Config& config() const { return w_.config; }
  int n_ctx() const { return n_ctx_; }
  SimdLevel simd() const { return simd_; }
  const EngineWeights& weights() const { return w_; }
  // Runs token `token` at position `pos` (0-based, < n_ctx) and returns the logits [vocab].
  const float* eval(int32_t token, int pos) { return eval_batch(&token, 1, pos); }
  // Runs n tokens at positions pos..pos+n-1 (prefill) and returns the logits of the last one.
  const float* eval_batch(const int32_t* tokens, int n, int pos);
  uint64_t kv_bytes_read(int pos) const;

 private:
  const float* eval_chunk(const int32_t* tokens, int n, int pos);
  void forward(const int32_t* tokens, int n, int pos, Share share);
  // Y[n, W.rows] = X[n, ...] W^T; rows of X are `stride` floats apart (zero-padded to 128).
  void linear(const LinearWeight& W, int n, const float* x, float* y, bool quantized_input, Share share = {});
  void linear3(const LinearWeight& A, const LinearWeight& B, const LinearWeight& C, int n, const float* x, float* ya,
               float* yb, float* yc, bool quantized_input, Share share = {});
  void quantize_input(int n, const float* x, int cols);

  EngineWeights w_;
  int n_ctx_, max_batch_, stride_;  // stride_: floats per activation row (widest, padded to 128)
  SimdLevel simd_;
  bool one_region_ = false;  // a decoded token runs in one parallel region (forward with shares)
  RopeTable rope_;
  KvType kv_type_;
  size_t kv_elem_;                          // bytes per cached value
  std::vector<uint8_t> k_cache_, v_cache_;  // [L][KV][n_ctx][hd]: one head's positions are contiguous
  std::vector<float> x_, xb_, xb2_, q_, k_, v_, att_, scores_, hb_, hb2_, logits_;
  std::vector<int8_t> x8_;
  std::vector<float> xq_;  // x8_ dequantized, for dense weights of a W1.58A8 model
  std::vector<int32_t> xsum_;
  std::vector<float> x8_scale_;
  std::vector<int32_t> head_row_sums_;  // an I8 head's row sums, for its integer product
};

}  // namespace trit
