// The trainable model: forward and backward passes over one contiguous parameter buffer, in the
// llm.c style. Shapes below use N = B*T tokens, C = hidden, F = intermediate, H/KV heads of size hd,
// D = (H + 2KV)*hd, V = vocab.
//
// BitLinear (ternary mode): the forward pass uses Wq = absmean-ternary(W) * gamma and, with 8-bit
// activations, xhat = int8-absmax(x) / s; the backward pass is the straight-through estimator:
//   dX = dY . Wq   (gamma included),   dW = dY^T . xhat   (the activations the forward used).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/rope.h"
#include "model/config.h"
#include "model/layout.h"

namespace trit {

class Model {
 public:
  // Activations are sized for up to max_batch sequences of up to max_seq tokens.
  Model(const Config& cfg, int max_batch, int max_seq);

  const Config& config() const { return cfg_; }
  const Layout& layout() const { return layout_; }
  int max_batch() const { return max_B_; }
  int max_seq() const { return max_T_; }

  std::vector<float> params;  // [layout.total]
  std::vector<float> grads;   // [layout.total]

  void init_random(uint64_t seed);
  void zero_grads();
  // Recomputes the ternary weights from the latent ones; call after every parameter change.
  // `step` names the training step in error messages.
  void quantize_weights(long step);

  // tokens/targets [B, T]. Returns the mean loss over the B*T targets (targets may be null: logits
  // only, loss 0). Saves what backward needs.
  float forward(const int32_t* tokens, const int32_t* targets, int B, int T);
  // Adds the gradients of (mean loss * loss_weight) to `grads`. Requires the forward just before it
  // to have had targets.
  void backward(const int32_t* tokens, float loss_weight);

  const float* logits() const { return logits_; }  // [B*T, V] of the last forward
  const float* token_losses() const { return losses_; }
  // The weight a BitLinear product uses: Wq in ternary mode, the latent W in fp mode.
  const float* effective_weight(size_t offset) const;
  // Scales of the last quantize_weights() for the tensor at `tensor_index` of layout().tensors.
  const float* weight_scales(size_t tensor_index) const;

 private:
  struct LayerActs {
    float *res_in, *xn1, *rstd1, *xq1, *qkv, *probs, *att, *rstd_s1, *att_n, *xq2, *res_mid, *xn2, *rstd2, *xq3,
        *gu, *h, *rstd_s2, *h_n, *xq4;
  };
  const float* bitlinear_forward(const float* x, float* xq, size_t w_off, float* y, int N, int in, int out,
                                 const std::string& name);
  void bitlinear_backward(const float* dy, const float* xin, size_t w_off, float* dx, int N, int in, int out);

  Config cfg_;
  Layout layout_;
  int max_B_, max_T_;
  int cur_B_ = 0, cur_T_ = 0;
  long step_ = 0;
  RopeTable rope_;
  std::vector<float> wq_;      // dequantized ternary weights, same offsets as params
  std::vector<float> scales_;  // all BitLinear scales
  std::vector<size_t> scale_offset_;  // per layout tensor, into scales_
  std::vector<float> act_buf_, scratch_buf_;
  std::vector<LayerActs> acts_;
  float *res_out_, *xf_, *rstdf_, *logits_, *losses_;
  // backward scratch
  float *d_res_, *d_xn_, *d_qkv_, *d_att_, *d_att2_, *d_gu_, *d_h_, *d_h2_;
  std::vector<int32_t> targets_;
};

}  // namespace trit
