#include "train/model.h"

#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/quant.h"

namespace trit {

namespace {
void add_inplace(float* y, const float* x, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}
}  // namespace

Model::Model(const Config& cfg, int max_batch, int max_seq) : cfg_(cfg), max_B_(max_batch), max_T_(max_seq) {
  cfg_.validate();
  TRIT_CHECK(max_batch > 0 && max_seq > 0, "batch and sequence length must be positive");
  TRIT_CHECK(max_seq <= cfg_.max_position_embeddings, "sequence length %d exceeds max_position_embeddings %d",
             max_seq, cfg_.max_position_embeddings);
  layout_ = make_layout(cfg_);
  params.assign(layout_.total, 0.0f);
  grads.assign(layout_.total, 0.0f);
  rope_.init(cfg_.head_dim(), max_seq, cfg_.rope_theta);

  if (cfg_.ternary()) {
    wq_.assign(layout_.total, 0.0f);
    size_t n = 0;
    for (const auto& t : layout_.tensors) {
      scale_offset_.push_back(n);
      if (t.kind == TensorKind::BitLinear) n += ternary_scale_count(t.rows, t.cols, cfg_.group_size);
    }
    scales_.assign(n, 0.0f);
  }

  const size_t N = static_cast<size_t>(max_B_) * max_T_;
  const size_t C = cfg_.hidden_size, F = cfg_.intermediate_size, D = cfg_.qkv_dim(), V = cfg_.vocab_size;
  const size_t A = static_cast<size_t>(cfg_.num_attention_heads) * cfg_.head_dim();
  const size_t P = static_cast<size_t>(max_B_) * cfg_.num_attention_heads * max_T_ * max_T_;
  const bool aq = cfg_.ternary() && cfg_.act_bits == 8, sub = cfg_.subln;
  // One allocation for all activations, carved up below.
  const size_t per_layer = N * C /*res_in*/ + N * C /*xn1*/ + N /*rstd1*/ + (aq ? N * C : 0) + N * D + P + N * A +
                           (sub ? N + N * A : 0) + (aq ? N * A : 0) + N * C /*res_mid*/ + N * C + N + (aq ? N * C : 0) +
                           2 * N * F + N * F + (sub ? N + N * F : 0) + (aq ? N * F : 0);
  act_buf_.assign(per_layer * cfg_.num_hidden_layers + N * C * 2 + N + N * V + N, 0.0f);
  float* p = act_buf_.data();
  auto take = [&p](size_t n) {
    float* r = p;
    p += n;
    return r;
  };
  for (int l = 0; l < cfg_.num_hidden_layers; ++l) {
    LayerActs a{};
    a.res_in = take(N * C);
    a.xn1 = take(N * C);
    a.rstd1 = take(N);
    a.xq1 = aq ? take(N * C) : nullptr;
    a.qkv = take(N * D);
    a.probs = take(P);
    a.att = take(N * A);
    a.rstd_s1 = sub ? take(N) : nullptr;
    a.att_n = sub ? take(N * A) : nullptr;
    a.xq2 = aq ? take(N * A) : nullptr;
    a.res_mid = take(N * C);
    a.xn2 = take(N * C);
    a.rstd2 = take(N);
    a.xq3 = aq ? take(N * C) : nullptr;
    a.gu = take(2 * N * F);
    a.h = take(N * F);
    a.rstd_s2 = sub ? take(N) : nullptr;
    a.h_n = sub ? take(N * F) : nullptr;
    a.xq4 = aq ? take(N * F) : nullptr;
    acts_.push_back(a);
  }
  res_out_ = take(N * C);
  xf_ = take(N * C);
  rstdf_ = take(N);
  logits_ = take(N * V);
  losses_ = take(N);

  scratch_buf_.assign(N * C * 2 + N * D + N * A * 2 + 2 * N * F + N * F * 2, 0.0f);
  p = scratch_buf_.data();
  d_res_ = take(N * C);
  d_xn_ = take(N * C);
  d_qkv_ = take(N * D);
  d_att_ = take(N * A);
  d_att2_ = take(N * A);
  d_gu_ = take(2 * N * F);
  d_h_ = take(N * F);
  d_h2_ = take(N * F);
  targets_.assign(N, 0);
}

void Model::init_random(uint64_t seed) {
  Rng rng(seed);
  const float std_base = 0.02f;
  const float std_out = std_base / std::sqrt(2.0f * cfg_.num_hidden_layers);
  for (const auto& t : layout_.tensors) {
    float* w = params.data() + t.offset;
    if (t.kind == TensorKind::Norm) {
      std::fill(w, w + t.size(), 1.0f);
      continue;
    }
    const bool out_proj = t.name.find("o_proj") != std::string::npos || t.name.find("down_proj") != std::string::npos;
    const float sd = out_proj ? std_out : std_base;
    for (size_t i = 0; i < t.size(); ++i) w[i] = static_cast<float>(rng.normal()) * sd;
  }
}

void Model::zero_grads() { std::memset(grads.data(), 0, grads.size() * sizeof(float)); }

void Model::quantize_weights(long step) {
  step_ = step;
  if (!cfg_.ternary()) {
    for (const auto& t : layout_.tensors)
      TRIT_CHECK(all_finite(params.data() + t.offset, t.size()), "non-finite value in weight %s at step %ld",
                 t.name.c_str(), step);
    return;
  }
  for (size_t i = 0; i < layout_.tensors.size(); ++i) {
    const auto& t = layout_.tensors[i];
    const float* w = params.data() + t.offset;
    if (t.kind != TensorKind::BitLinear) {
      TRIT_CHECK(all_finite(w, t.size()), "non-finite value in weight %s at step %ld", t.name.c_str(), step);
      continue;
    }
    const bool ok =
        ternary_quantize(w, t.rows, t.cols, cfg_.group_size, wq_.data() + t.offset, scales_.data() + scale_offset_[i],
                         nullptr);
    TRIT_CHECK(ok, "non-finite value (NaN or Inf) in the latent weights of %s reached the ternary quantizer at step %ld",
               t.name.c_str(), step);
  }
}

const float* Model::effective_weight(size_t offset) const {
  return cfg_.ternary() ? wq_.data() + offset : params.data() + offset;
}

const float* Model::weight_scales(size_t tensor_index) const {
  return cfg_.ternary() ? scales_.data() + scale_offset_.at(tensor_index) : nullptr;
}

const float* Model::bitlinear_forward(const float* x, float* xq, size_t w_off, float* y, int N, int in, int out,
                                      const std::string& name) {
  const float* xin = x;
  if (xq) {
    TRIT_CHECK(act_quantize_int8(x, N, in, xq, nullptr, nullptr),
               "non-finite activation (NaN or Inf) reached the 8-bit activation quantizer of %s at step %ld",
               name.c_str(), step_);
    xin = xq;
  }
  matmul_nt(xin, effective_weight(w_off), y, N, out, in, false);
  return xin;
}

void Model::bitlinear_backward(const float* dy, const float* xin, size_t w_off, float* dx, int N, int in, int out) {
  matmul_nn(dy, effective_weight(w_off), dx, N, in, out, false);  // dX = dY . Wq
  matmul_tn(dy, xin, grads.data() + w_off, out, in, N, true);     // dW += dY^T . xhat
}

float Model::forward(const int32_t* tokens, const int32_t* targets, int B, int T) {
  TRIT_CHECK(B > 0 && B <= max_B_ && T > 0 && T <= max_T_, "forward: batch %dx%d exceeds the model's %dx%d", B, T,
             max_B_, max_T_);
  cur_B_ = B;
  cur_T_ = T;
  const int N = B * T, C = cfg_.hidden_size, F = cfg_.intermediate_size, D = cfg_.qkv_dim(), V = cfg_.vocab_size;
  const int H = cfg_.num_attention_heads, KV = cfg_.num_key_value_heads, hd = cfg_.head_dim(), A = H * hd;
  const float eps = cfg_.rms_norm_eps;
  const float* P = params.data();
  const Activation act = cfg_.hidden_act == "relu2" ? Activation::ReLU2 : Activation::SiLU;
  const AttentionShape ashape{B, T, H, KV, hd};

  // embedding lookup: res_in of layer 0 [N, C]
  float* x = cfg_.num_hidden_layers > 0 ? acts_[0].res_in : res_out_;
  for (int n = 0; n < N; ++n) {
    const int tok = tokens[n];
    TRIT_CHECK(tok >= 0 && tok < V, "token id %d at position %d is outside the vocabulary of %d", tok, n, V);
    std::memcpy(x + static_cast<size_t>(n) * C, P + layout_.embed + static_cast<size_t>(tok) * C, sizeof(float) * C);
  }
  for (int l = 0; l < cfg_.num_hidden_layers; ++l) {
    LayerActs& a = acts_[l];
    const LayerOffsets& o = layout_.layers[l];
    const std::string lp = "model.layers." + std::to_string(l);
    rmsnorm_forward(a.res_in, P + o.attn_norm, a.xn1, a.rstd1, N, C, eps);
    bitlinear_forward(a.xn1, a.xq1, o.wqkv, a.qkv, N, C, D, lp + ".self_attn.qkv_proj");
    rope_forward(a.qkv, N, T, D, 0, H, rope_);
    rope_forward(a.qkv, N, T, D, A, KV, rope_);
    attention_forward(a.qkv, a.att, a.probs, ashape);
    const float* att = a.att;
    if (cfg_.subln) {
      rmsnorm_forward(a.att, P + o.attn_sub_norm, a.att_n, a.rstd_s1, N, A, eps);
      att = a.att_n;
    }
    bitlinear_forward(att, a.xq2, o.wo, a.res_mid, N, A, C, lp + ".self_attn.o_proj");
    add_inplace(a.res_mid, a.res_in, static_cast<size_t>(N) * C);
    rmsnorm_forward(a.res_mid, P + o.ffn_norm, a.xn2, a.rstd2, N, C, eps);
    bitlinear_forward(a.xn2, a.xq3, o.wgu, a.gu, N, C, 2 * F, lp + ".mlp.gate_up_proj");
    glu_forward(a.gu, a.h, N, F, act);
    const float* h = a.h;
    if (cfg_.subln) {
      rmsnorm_forward(a.h, P + o.ffn_sub_norm, a.h_n, a.rstd_s2, N, F, eps);
      h = a.h_n;
    }
    float* next = l + 1 < cfg_.num_hidden_layers ? acts_[l + 1].res_in : res_out_;
    bitlinear_forward(h, a.xq4, o.wdown, next, N, F, C, lp + ".mlp.down_proj");
    add_inplace(next, a.res_mid, static_cast<size_t>(N) * C);
  }
  rmsnorm_forward(res_out_, P + layout_.final_norm, xf_, rstdf_, N, C, eps);
  matmul_nt(xf_, P + layout_.head, logits_, N, V, C, false);
  if (!targets) return 0.0f;
  for (int n = 0; n < N; ++n) {
    TRIT_CHECK(targets[n] >= 0 && targets[n] < V, "target id %d is outside the vocabulary of %d", targets[n], V);
    targets_[n] = targets[n];
  }
  // Loss only; backward() turns logits into their gradient in place.
  cross_entropy_forward_backward(logits_, targets_.data(), losses_, nullptr, N, V, 0.0f);
  double sum = 0.0;
  for (int n = 0; n < N; ++n) sum += losses_[n];
  const float loss = static_cast<float>(sum / N);
  TRIT_CHECK(std::isfinite(loss), "the loss is not finite at step %ld: training diverged (lower --lr?)", step_);
  return loss;
}

void Model::backward(const int32_t* tokens, float loss_weight) {
  const int B = cur_B_, T = cur_T_;
  const int N = B * T, C = cfg_.hidden_size, F = cfg_.intermediate_size, D = cfg_.qkv_dim(), V = cfg_.vocab_size;
  const int H = cfg_.num_attention_heads, KV = cfg_.num_key_value_heads, hd = cfg_.head_dim(), A = H * hd;
  const float* P = params.data();
  float* G = grads.data();
  const Activation act = cfg_.hidden_act == "relu2" ? Activation::ReLU2 : Activation::SiLU;
  const AttentionShape ashape{B, T, H, KV, hd};
  const size_t NC = static_cast<size_t>(N) * C;

  // d(logits) in place, then the head: dxf = dlogits . Whead, dWhead += dlogits^T . xf
  cross_entropy_forward_backward(logits_, targets_.data(), losses_, logits_, N, V, loss_weight / N);
  matmul_nn(logits_, P + layout_.head, d_xn_, N, C, V, false);
  matmul_tn(logits_, xf_, G + layout_.head, V, C, N, true);
  std::memset(d_res_, 0, NC * sizeof(float));
  rmsnorm_backward(d_xn_, res_out_, P + layout_.final_norm, rstdf_, d_res_, G + layout_.final_norm, N, C);

  for (int l = cfg_.num_hidden_layers - 1; l >= 0; --l) {
    LayerActs& a = acts_[l];
    const LayerOffsets& o = layout_.layers[l];
    // FFN branch: d_res is the gradient w.r.t. this layer's output (= res_mid + down(...)).
    const float* h_used = a.xq4 ? a.xq4 : (cfg_.subln ? a.h_n : a.h);
    bitlinear_backward(d_res_, h_used, o.wdown, cfg_.subln ? d_h2_ : d_h_, N, F, C);
    if (cfg_.subln) {
      std::memset(d_h_, 0, static_cast<size_t>(N) * F * sizeof(float));
      rmsnorm_backward(d_h2_, a.h, P + o.ffn_sub_norm, a.rstd_s2, d_h_, G + o.ffn_sub_norm, N, F);
    }
    glu_backward(d_h_, a.gu, d_gu_, N, F, act);
    bitlinear_backward(d_gu_, a.xq3 ? a.xq3 : a.xn2, o.wgu, d_xn_, N, C, 2 * F);
    rmsnorm_backward(d_xn_, a.res_mid, P + o.ffn_norm, a.rstd2, d_res_, G + o.ffn_norm, N, C);
    // Attention branch: d_res is now the gradient w.r.t. res_mid (= res_in + o_proj(...)).
    const float* att_used = a.xq2 ? a.xq2 : (cfg_.subln ? a.att_n : a.att);
    bitlinear_backward(d_res_, att_used, o.wo, cfg_.subln ? d_att2_ : d_att_, N, A, C);
    if (cfg_.subln) {
      std::memset(d_att_, 0, static_cast<size_t>(N) * A * sizeof(float));
      rmsnorm_backward(d_att2_, a.att, P + o.attn_sub_norm, a.rstd_s1, d_att_, G + o.attn_sub_norm, N, A);
    }
    attention_backward(d_att_, a.qkv, a.probs, d_qkv_, ashape);
    rope_backward(d_qkv_, N, T, D, 0, H, rope_);
    rope_backward(d_qkv_, N, T, D, A, KV, rope_);
    bitlinear_backward(d_qkv_, a.xq1 ? a.xq1 : a.xn1, o.wqkv, d_xn_, N, C, D);
    rmsnorm_backward(d_xn_, a.res_in, P + o.attn_norm, a.rstd1, d_res_, G + o.attn_norm, N, C);
  }
  // Embedding rows: serial, since two positions may hold the same token.
  for (int n = 0; n < N; ++n) {
    float* g = G + layout_.embed + static_cast<size_t>(tokens[n]) * C;
    const float* d = d_res_ + static_cast<size_t>(n) * C;
    for (int c = 0; c < C; ++c) g[c] += d[c];
  }
}

}  // namespace trit
