#include "infer/engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <omp.h>

#include "core/error.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/norm.h"
#include "kernels/ternary_pack.h"

namespace trit {

namespace {
// f(j) for every row j of a batch: in parallel for a prompt, inline for one token. (An OpenMP
// `if (n > 1)` clause is not enough: libgomp's serialized region cost ~1 ms each here while the
// other thread waited, which made 2-thread decoding slower than 1-thread.)
template <typename F>
void for_each_row(int n, F f) {
  if (n == 1) return f(0);
#pragma omp parallel for schedule(static)
  for (int j = 0; j < n; ++j) f(j);
}
}  // namespace

Engine::Engine(EngineWeights w, int n_ctx, int max_batch, KvType kv)
    : w_(std::move(w)),
      n_ctx_(n_ctx),
      max_batch_(std::min(max_batch, n_ctx)),
      simd_(detect_simd()),
      kv_type_(kv),
      kv_elem_(kv == KvType::F16 ? 2 : 4) {
  const Config& c = w_.config;
  TRIT_CHECK(n_ctx > 0 && n_ctx <= c.max_position_embeddings, "context %d must be in 1..%d", n_ctx,
             c.max_position_embeddings);
  TRIT_CHECK(max_batch > 0, "batch must be positive");
  const int C = c.hidden_size, F = c.intermediate_size, hd = c.head_dim();
  const int H = c.num_attention_heads, KV = c.num_key_value_heads;
  rope_.init(hd, n_ctx, c.rope_theta);
  k_cache_.assign(static_cast<size_t>(c.num_hidden_layers) * n_ctx * KV * hd * kv_elem_, 0);
  v_cache_.assign(k_cache_.size(), 0);
  const int widest = std::max({C, F, H * hd});
  stride_ = (widest + kTrit2Chunk - 1) / kTrit2Chunk * kTrit2Chunk;
  max_batch = max_batch_;
  const size_t rows = static_cast<size_t>(max_batch) * stride_;
  x_.assign(rows, 0.0f);
  xb_.assign(rows, 0.0f);
  xb2_.assign(rows, 0.0f);
  q_.assign(rows, 0.0f);
  k_.assign(rows, 0.0f);
  v_.assign(rows, 0.0f);
  att_.assign(rows, 0.0f);
  scores_.assign(static_cast<size_t>(max_batch) * H * n_ctx, 0.0f);
  hb_.assign(rows, 0.0f);
  hb2_.assign(rows, 0.0f);
  logits_.assign(c.vocab_size, 0.0f);
  x8_.assign(rows, 0);
  xq_.assign(rows, 0.0f);
  xsum_.assign(rows / 32, 0);
  x8_scale_.assign(max_batch, 1.0f);
  // One parallel region per decoded token, when every product can compute a share of its rows.
  one_region_ = w_.act_quant;
  for (const LayerWeights& L : w_.layers)
    for (const LinearWeight* W : {&L.wq, &L.wk, &L.wv, &L.wo, &L.wgate, &L.wup, &L.wdown})
      one_region_ = one_region_ && W->ternary && trit2_gemv_shares_rows(W->t2, simd_);
  if (w_.head.type == DenseType::I8) {
    head_row_sums_.resize(w_.head.rows);
    dense_row_sums(w_.head, head_row_sums_.data());
  }
}

void Engine::quantize_input(int n, const float* x, int cols) {
  const int padded = (cols + kTrit2Chunk - 1) / kTrit2Chunk * kTrit2Chunk;
  for_each_row(n, [&](int j) {
    x8_scale_[j] = quantize_row_i8(x + static_cast<size_t>(j) * stride_, cols, padded,
                                   x8_.data() + static_cast<size_t>(j) * stride_,
                                   xsum_.data() + static_cast<size_t>(j) * (stride_ / 32));
  });
}

void Engine::linear(const LinearWeight& W, int n, const float* x, float* y, bool quantized_input, Share share) {
  if (share.count > 0) {  // one token inside the decode region: the shares-rows path (see one_region_)
    const Trit2Matrix* Ws[1] = {&W.t2};
    return trit2_gemv_i8_multi(Ws, &y, 1, x8_.data(), xsum_.data(), x8_scale_[0], simd_, share);
  }
  if (W.ternary && quantized_input)
    return trit2_gemm_i8(W.t2, n, x8_.data(), xsum_.data(), stride_, x8_scale_.data(), y, stride_, simd_);
  if (quantized_input) {
    // Dense weights of a W1.58A8 model (a bf16/f16/f32 file of it): the products see the same int8
    // activations as the ternary ones (and as training), dequantized.
    for (int j = 0; j < n; ++j) {
      const size_t row = static_cast<size_t>(j) * stride_;
      for (int c = 0; c < W.cols(); ++c) xq_[row + c] = static_cast<float>(x8_[row + c]) * x8_scale_[j];
    }
    x = xq_.data();
  }
  for (int j = 0; j < n; ++j) {
    const float* xr = x + static_cast<size_t>(j) * stride_;
    float* yr = y + static_cast<size_t>(j) * stride_;
    if (W.ternary) trit2_gemv_f32(W.t2, xr, yr, simd_);
    else dense_gemv(W.dense, xr, yr, simd_);
  }
}

// Products of one input with two or three matrices (q, k, v; gate, up); c may be null. One token
// of a W1.58A8 model takes them in one parallel region.
void Engine::linear3(const LinearWeight& A, const LinearWeight& B, const LinearWeight& C, int n, const float* x,
                     float* ya, float* yb, float* yc, bool quantized_input, Share share) {
  if (quantized_input && A.ternary && B.ternary && (!yc || C.ternary)) {
    const Trit2Matrix* Ws[3] = {&A.t2, &B.t2, &C.t2};
    float* ys[3] = {ya, yb, yc};
    if (n == 1) return trit2_gemv_i8_multi(Ws, ys, yc ? 3 : 2, x8_.data(), xsum_.data(), x8_scale_[0], simd_, share);
    return trit2_gemm_i8_multi(Ws, ys, yc ? 3 : 2, n, x8_.data(), xsum_.data(), stride_, x8_scale_.data(), stride_,
                               simd_);
  }
  linear(A, n, x, ya, quantized_input);
  linear(B, n, x, yb, quantized_input);
  if (yc) linear(C, n, x, yc, quantized_input);
}

uint64_t Engine::kv_bytes_read(int pos) const {
  const Config& c = w_.config;
  return static_cast<uint64_t>(c.num_hidden_layers) * (pos + 1) * c.num_key_value_heads * c.head_dim() * kv_elem_ * 2;
}

const float* Engine::eval_batch(const int32_t* tokens, int n, int pos) {
  TRIT_CHECK(n > 0, "nothing to evaluate");
  const float* l = nullptr;
  for (int i = 0; i < n; i += max_batch_) l = eval_chunk(tokens + i, std::min(max_batch_, n - i), pos + i);
  return l;
}

// Every activation buffer holds rows stride_ floats apart: row j of X is x_[j*stride_ ...].
const float* Engine::eval_chunk(const int32_t* tokens, int n, int pos) {
  const Config& c = w_.config;
  for (int j = 0; j < n; ++j)
    TRIT_CHECK(tokens[j] >= 0 && tokens[j] < c.vocab_size, "token id %d is outside the vocabulary of %d", tokens[j],
               c.vocab_size);
  TRIT_CHECK(pos >= 0 && pos + n <= n_ctx_, "position %d is outside the context of %d", pos + n - 1, n_ctx_);
  if (n == 1 && one_region_) {
#pragma omp parallel
    forward(tokens, n, pos, Share{omp_get_thread_num(), omp_get_num_threads()});
  } else {
    forward(tokens, n, pos, Share{});
  }
  return logits_.data();
}

// With share.count > 0 every thread of one parallel region runs this: the products compute their
// share, `serial` steps run on one thread (omp single, which ends in a barrier) and `sync` is a
// barrier after each product. With share.count == 0 each product opens its own region.
void Engine::forward(const int32_t* tokens, int n, int pos, Share sh) {
  const Config& c = w_.config;
  auto serial = [&](auto f) {
    if (sh.count > 0) {
#pragma omp single
      f();
    } else {
      f();
    }
  };
  auto sync = [&] {
    if (sh.count > 0) {
#pragma omp barrier
    }
  };
  const int C = c.hidden_size, F = c.intermediate_size, hd = c.head_dim();
  const int H = c.num_attention_heads, KV = c.num_key_value_heads, A = H * hd;
  const int S = stride_;
  const float eps = c.rms_norm_eps;
  const bool aq = w_.act_quant;
  float rstd;
  // x += y, row by row (the residual stream).
  auto add_rows = [&](const float* y, int rows, int cols) {
    for (int j = 0; j < rows; ++j)
      for (int i = 0; i < cols; ++i) x_[static_cast<size_t>(j) * S + i] += y[static_cast<size_t>(j) * S + i];
  };
  auto rows_norm = [&](const float* in, const float* wgt, float* out, int cols) {
    for_each_row(n, [&](int j) {
      float rstd;
      rmsnorm_forward(in + static_cast<size_t>(j) * S, wgt, out + static_cast<size_t>(j) * S, &rstd, 1, cols, eps);
    });
  };

  serial([&] {
    for (int j = 0; j < n; ++j) dense_row(w_.embd, tokens[j], x_.data() + static_cast<size_t>(j) * S);
  });
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const LayerWeights& L = w_.layers[l];
    serial([&] {
      rows_norm(x_.data(), L.attn_norm, xb_.data(), C);
      if (aq) quantize_input(n, xb_.data(), C);
    });
    linear3(L.wq, L.wk, L.wv, n, xb_.data(), q_.data(), k_.data(), v_.data(), aq, sh);
    sync();
    uint8_t* kc = k_cache_.data() + static_cast<size_t>(l) * n_ctx_ * KV * hd * kv_elem_;
    uint8_t* vc = v_cache_.data() + static_cast<size_t>(l) * n_ctx_ * KV * hd * kv_elem_;
    auto qrow = [&](std::vector<float>& buf, int j) { return buf.data() + static_cast<size_t>(j) * S; };
    serial([&] {
    for (int j = 0; j < n; ++j) {
      const int p = pos + j;
      const float* cs = rope_.cos.data() + static_cast<size_t>(p) * (hd / 2);
      const float* sn = rope_.sin.data() + static_cast<size_t>(p) * (hd / 2);
      auto rotate = [&](float* v, int heads) {
        for (int h = 0; h < heads; ++h)
          for (int i = 0; i < hd / 2; ++i) {
            float* e = v + h * hd + 2 * i;
            const float a = e[0], b = e[1];
            e[0] = a * cs[i] - b * sn[i];
            e[1] = b * cs[i] + a * sn[i];
          }
      };
      rotate(qrow(q_, j), H);
      float* kj = qrow(k_, j);
      rotate(kj, KV);
      for (int g = 0; g < KV; ++g) {
        const size_t at = (static_cast<size_t>(g) * n_ctx_ + p) * hd * kv_elem_;
        kv_store(kj + g * hd, kc + at, kv_type_, hd);
        kv_store(qrow(v_, j) + g * hd, vc + at, kv_type_, hd);
      }
    }
    });
    attention_cached(q_.data(), S, kc, vc, kv_type_, static_cast<size_t>(n_ctx_) * hd, n, pos, H, KV, hd,
                     scores_.data(), att_.data(), S, sh);
    sync();
    const float* att = L.attn_sub_norm ? xb2_.data() : att_.data();
    serial([&] {
      if (L.attn_sub_norm) rows_norm(att_.data(), L.attn_sub_norm, xb2_.data(), A);
      if (aq) quantize_input(n, att, A);
    });
    linear(L.wo, n, att, xb_.data(), aq, sh);
    sync();
    serial([&] {
      add_rows(xb_.data(), n, C);
      rows_norm(x_.data(), L.ffn_norm, xb_.data(), C);
      if (aq) quantize_input(n, xb_.data(), C);
    });
    linear3(L.wgate, L.wup, L.wup, n, xb_.data(), hb_.data(), hb2_.data(), nullptr, aq, sh);
    sync();
    const Activation act = c.hidden_act == "relu2" ? Activation::ReLU2 : Activation::SiLU;
    const float* h = L.ffn_sub_norm ? xb2_.data() : att_.data();
    serial([&] {
      // The activations go to row stride S (zero-padded) for the down projection's input.
      for_each_row(n, [&](int j) {
        float* out = att_.data() + static_cast<size_t>(j) * S;
        glu_row(hb_.data() + static_cast<size_t>(j) * S, hb2_.data() + static_cast<size_t>(j) * S, out, F, act);
        std::fill(out + F, out + S, 0.0f);
      });
      if (L.ffn_sub_norm) rows_norm(att_.data(), L.ffn_sub_norm, xb2_.data(), F);
      if (aq) quantize_input(n, h, F);
    });
    linear(L.wdown, n, h, xb_.data(), aq, sh);
    sync();
    serial([&] { add_rows(xb_.data(), n, C); });
  }
  const bool int8_head = w_.head.type == DenseType::I8;
  serial([&] {
    const float* last = x_.data() + static_cast<size_t>(n - 1) * S;
    rmsnorm_forward(last, w_.output_norm, xb_.data(), &rstd, 1, C, eps);
    // An int8 head takes int8 activations (per-token absmax, as every W1.58A8 product): one byte
    // and one integer multiply-add per weight.
    if (int8_head)
      x8_scale_[0] = quantize_row_i8(xb_.data(), C, (C + kTrit2Chunk - 1) / kTrit2Chunk * kTrit2Chunk, x8_.data(),
                                     xsum_.data());
  });
  if (int8_head) dense_gemv_i8(w_.head, x8_.data(), x8_scale_[0], head_row_sums_.data(), logits_.data(), simd_, sh);
  else dense_gemv(w_.head, xb_.data(), logits_.data(), simd_, sh);
}

}  // namespace trit
