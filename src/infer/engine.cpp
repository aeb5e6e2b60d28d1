#include "infer/engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/norm.h"
#include "kernels/ternary_pack.h"

namespace trit {

Engine::Engine(EngineWeights w, int n_ctx) : w_(std::move(w)), n_ctx_(n_ctx), simd_(detect_simd()) {
  const Config& c = w_.config;
  TRIT_CHECK(n_ctx > 0 && n_ctx <= c.max_position_embeddings, "context %d must be in 1..%d", n_ctx,
             c.max_position_embeddings);
  const int C = c.hidden_size, F = c.intermediate_size, hd = c.head_dim();
  const int H = c.num_attention_heads, KV = c.num_key_value_heads;
  rope_.init(hd, n_ctx, c.rope_theta);
  k_cache_.assign(static_cast<size_t>(c.num_hidden_layers) * n_ctx * KV * hd, 0.0f);
  v_cache_.assign(k_cache_.size(), 0.0f);
  const int widest = std::max({C, F, H * hd});
  const int padded = (widest + kTrit2Chunk - 1) / kTrit2Chunk * kTrit2Chunk;
  x_.assign(C, 0.0f);
  xb_.assign(padded, 0.0f);
  xb2_.assign(padded, 0.0f);
  q_.assign(H * hd, 0.0f);
  k_.assign(KV * hd, 0.0f);
  v_.assign(KV * hd, 0.0f);
  att_.assign(padded, 0.0f);
  scores_.assign(static_cast<size_t>(H) * n_ctx, 0.0f);
  hb_.assign(padded, 0.0f);
  hb2_.assign(F, 0.0f);
  logits_.assign(c.vocab_size, 0.0f);
  x8_.assign(padded, 0);
  xsum_.assign(padded / 32, 0);
}

void Engine::quantize_input(const float* x, int cols) {
  const int padded = (cols + kTrit2Chunk - 1) / kTrit2Chunk * kTrit2Chunk;
  x8_scale_ = quantize_row_i8(x, cols, padded, x8_.data(), xsum_.data());
}

// x must be padded with zeros to a multiple of 128 (the engine's buffers are).
void Engine::linear(const LinearWeight& W, const float* x, float* y, bool quantized_input) {
  if (!W.ternary) return dense_gemv(W.dense, x, y, simd_);
  if (quantized_input) return trit2_gemv_i8(W.t2, x8_.data(), xsum_.data(), x8_scale_, y, simd_);
  trit2_gemv_f32(W.t2, x, y, simd_);
}

uint64_t Engine::kv_bytes_read(int pos) const {
  const Config& c = w_.config;
  return static_cast<uint64_t>(c.num_hidden_layers) * (pos + 1) * c.num_key_value_heads * c.head_dim() * 4 * 2;
}

const float* Engine::eval(int32_t token, int pos) {
  const Config& c = w_.config;
  TRIT_CHECK(token >= 0 && token < c.vocab_size, "token id %d is outside the vocabulary of %d", token, c.vocab_size);
  TRIT_CHECK(pos >= 0 && pos < n_ctx_, "position %d is outside the context of %d", pos, n_ctx_);
  const int C = c.hidden_size, F = c.intermediate_size, hd = c.head_dim();
  const int H = c.num_attention_heads, KV = c.num_key_value_heads, A = H * hd, group = H / KV;
  const float eps = c.rms_norm_eps;
  const bool aq = w_.act_quant;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  float rstd;

  dense_row(w_.embd, token, x_.data());
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const LayerWeights& L = w_.layers[l];
    rmsnorm_forward(x_.data(), L.attn_norm, xb_.data(), &rstd, 1, C, eps);
    if (aq) quantize_input(xb_.data(), C);
    linear(L.wq, xb_.data(), q_.data(), aq);
    linear(L.wk, xb_.data(), k_.data(), aq);
    linear(L.wv, xb_.data(), v_.data(), aq);
    // RoPE on adjacent pairs.
    const float* cs = rope_.cos.data() + static_cast<size_t>(pos) * (hd / 2);
    const float* sn = rope_.sin.data() + static_cast<size_t>(pos) * (hd / 2);
    auto rotate = [&](float* v, int heads) {
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < hd / 2; ++i) {
          float* p = v + h * hd + 2 * i;
          const float a = p[0], b = p[1];
          p[0] = a * cs[i] - b * sn[i];
          p[1] = b * cs[i] + a * sn[i];
        }
    };
    rotate(q_.data(), H);
    rotate(k_.data(), KV);
    float* kc = k_cache_.data() + static_cast<size_t>(l) * n_ctx_ * KV * hd;
    float* vc = v_cache_.data() + static_cast<size_t>(l) * n_ctx_ * KV * hd;
    std::memcpy(kc + static_cast<size_t>(pos) * KV * hd, k_.data(), sizeof(float) * KV * hd);
    std::memcpy(vc + static_cast<size_t>(pos) * KV * hd, v_.data(), sizeof(float) * KV * hd);
#pragma omp parallel for schedule(static)
    for (int h = 0; h < H; ++h) {
      const int g = h / group;
      const float* q = q_.data() + h * hd;
      float* sc = scores_.data() + static_cast<size_t>(h) * n_ctx_;
      float mx = -INFINITY;
      for (int t = 0; t <= pos; ++t) {
        const float* k = kc + (static_cast<size_t>(t) * KV + g) * hd;
        float d = 0.0f;
#pragma omp simd reduction(+ : d)
        for (int i = 0; i < hd; ++i) d += q[i] * k[i];
        sc[t] = d * scale;
        mx = std::max(mx, sc[t]);
      }
      float sum = 0.0f;
      for (int t = 0; t <= pos; ++t) {
        sc[t] = std::exp(sc[t] - mx);
        sum += sc[t];
      }
      float* o = att_.data() + h * hd;
      std::fill(o, o + hd, 0.0f);
      const float inv = 1.0f / sum;
      for (int t = 0; t <= pos; ++t) {
        const float p = sc[t] * inv;
        const float* v = vc + (static_cast<size_t>(t) * KV + g) * hd;
#pragma omp simd
        for (int i = 0; i < hd; ++i) o[i] += p * v[i];
      }
    }
    const float* att = att_.data();
    if (L.attn_sub_norm) {
      rmsnorm_forward(att_.data(), L.attn_sub_norm, xb2_.data(), &rstd, 1, A, eps);
      att = xb2_.data();
    }
    if (aq) quantize_input(att, A);
    linear(L.wo, att, xb_.data(), aq);
    for (int i = 0; i < C; ++i) x_[i] += xb_[i];

    rmsnorm_forward(x_.data(), L.ffn_norm, xb_.data(), &rstd, 1, C, eps);
    if (aq) quantize_input(xb_.data(), C);
    linear(L.wgate, xb_.data(), hb_.data(), aq);
    linear(L.wup, xb_.data(), hb2_.data(), aq);
    const bool relu2 = c.hidden_act == "relu2";
    for (int i = 0; i < F; ++i) {
      const float g = hb_[i];
      const float a = relu2 ? (g > 0 ? g * g : 0.0f) : g / (1.0f + std::exp(-g));
      hb_[i] = a * hb2_[i];
    }
    const float* h = hb_.data();
    if (L.ffn_sub_norm) {
      rmsnorm_forward(hb_.data(), L.ffn_sub_norm, xb2_.data(), &rstd, 1, F, eps);
      h = xb2_.data();
    }
    if (aq) quantize_input(h, F);
    linear(L.wdown, h, xb_.data(), aq);
    for (int i = 0; i < C; ++i) x_[i] += xb_[i];
  }
  rmsnorm_forward(x_.data(), w_.output_norm, xb_.data(), &rstd, 1, C, eps);
  dense_gemv(w_.head, xb_.data(), logits_.data(), simd_);
  return logits_.data();
}

}  // namespace trit
