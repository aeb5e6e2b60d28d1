#include "kernels/attention.h"

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/activation.h"

namespace trit {

// Each (batch, head) pair is a few small matrix products; OpenBLAS runs them single-threaded inside
// the OpenMP loop over pairs. The full T x T score matrix is computed (the masked half is then
// discarded): on this CPU a dense product beats a triangular hand loop by ~3x.

void attention_forward(const float* qkv, float* out, float* probs, const AttentionShape& s) {
  const int B = s.B, T = s.T, H = s.H, KV = s.KV, hd = s.hd, D = s.qkv_stride(), A = H * hd;
  const int group = H / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int kvh = h / group;
      const float* base = qkv + static_cast<size_t>(b) * T * D;
      const float* q = base + h * hd;
      const float* k = base + (H + kvh) * hd;
      const float* v = base + (H + KV + kvh) * hd;
      float* P = probs + (static_cast<size_t>(b) * H + h) * T * T;
      // P[T, T] = scale * Q[T, hd] . K[T, hd]^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, q, D, k, D, 0.0f, P, T);
      for (int t = 0; t < T; ++t) {
        float* p = P + static_cast<size_t>(t) * T;
        float mx = -INFINITY;
        for (int t2 = 0; t2 <= t; ++t2) mx = std::max(mx, p[t2]);
        float sum = 0.0f;
        for (int t2 = 0; t2 <= t; ++t2) {
          p[t2] = std::exp(p[t2] - mx);
          sum += p[t2];
        }
        const float inv = 1.0f / sum;
        for (int t2 = 0; t2 <= t; ++t2) p[t2] *= inv;
        std::fill(p + t + 1, p + T, 0.0f);
      }
      // O[T, hd] = P[T, T] . V[T, hd]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, P, T, v, D, 0.0f,
                  out + static_cast<size_t>(b) * T * A + h * hd, A);
    }
}

void attention_backward(const float* dout, const float* qkv, const float* probs, float* dqkv,
                        const AttentionShape& s) {
  const int B = s.B, T = s.T, H = s.H, KV = s.KV, hd = s.hd, D = s.qkv_stride(), A = H * hd;
  const int group = H / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // One task per (batch, kv head): it owns dk/dv of that head and dq of the query heads that read it.
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int g = 0; g < KV; ++g) {
      std::vector<float> dS(static_cast<size_t>(T) * T);
      const float* base = qkv + static_cast<size_t>(b) * T * D;
      float* dbase = dqkv + static_cast<size_t>(b) * T * D;
      const float* k = base + (H + g) * hd;
      const float* v = base + (H + KV + g) * hd;
      float* dk = dbase + (H + g) * hd;
      float* dv = dbase + (H + KV + g) * hd;
      for (int h = g * group; h < (g + 1) * group; ++h) {
        const float* P = probs + (static_cast<size_t>(b) * H + h) * T * T;
        const float* dO = dout + static_cast<size_t>(b) * T * A + h * hd;
        const float* q = base + h * hd;
        float* dq = dbase + h * hd;
        const float beta = h == g * group ? 0.0f : 1.0f;  // the group's first head initialises dk/dv
        // dV[T, hd] += P^T . dO
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, P, T, dO, A, beta, dv, D);
        // dP[T, T] = dO . V^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dO, A, v, D, 0.0f, dS.data(), T);
        // dS = P * (dP - sum_t2 P dP) * scale, zero above the diagonal
        for (int t = 0; t < T; ++t) {
          const float* p = P + static_cast<size_t>(t) * T;
          float* d = dS.data() + static_cast<size_t>(t) * T;
          float pdp = 0.0f;
          for (int t2 = 0; t2 <= t; ++t2) pdp += p[t2] * d[t2];
          for (int t2 = 0; t2 <= t; ++t2) d[t2] = p[t2] * (d[t2] - pdp) * scale;
          std::fill(d + t + 1, d + T, 0.0f);
        }
        // dQ[T, hd] = dS . K ; dK[T, hd] += dS^T . Q
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, dS.data(), T, k, D, 0.0f, dq, D);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, dS.data(), T, q, D, beta, dk, D);
      }
    }
}

namespace {


// 16 cached values from element i as fp32.
__attribute__((target("avx512f"))) inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
__attribute__((target("avx512f"))) inline __m512 load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return f16_to_f32(*p); }

// S[t] = scale * q . k[t] for t < T (k rows hd apart); returns max_t S[t].
template <typename E>
__attribute__((target("avx512f"))) float scores_avx512(const float* q, const E* k, int T, int hd, float scale,
                                                       float* S) {
  float mx = -INFINITY;
  for (int t = 0; t < T; ++t, k += hd) {
    __m512 a = _mm512_mul_ps(_mm512_loadu_ps(q), load16(k));
    for (int i = 16; i < hd; i += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16(k + i), a);
    S[t] = _mm512_reduce_add_ps(a) * scale;
    mx = std::max(mx, S[t]);
  }
  return mx;
}

// o[0 .. hd) = inv * sum_t p[t] v[t]: the output stays in registers, 64 floats at a time.
template <typename E>
__attribute__((target("avx512f"))) void weighted_sum_avx512(const float* p, float inv, const E* v, int T, int hd,
                                                             float* o) {
  for (int i0 = 0; i0 < hd; i0 += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const E* vi = v + i0;
    for (int t = 0; t < T; ++t, vi += hd) {
      const __m512 pt = _mm512_set1_ps(p[t]);
      a0 = _mm512_fmadd_ps(pt, load16(vi), a0);
      a1 = _mm512_fmadd_ps(pt, load16(vi + 16), a1);
      a2 = _mm512_fmadd_ps(pt, load16(vi + 32), a2);
      a3 = _mm512_fmadd_ps(pt, load16(vi + 48), a3);
    }
    const __m512 s = _mm512_set1_ps(inv);
    _mm512_storeu_ps(o + i0, _mm512_mul_ps(a0, s));
    _mm512_storeu_ps(o + i0 + 16, _mm512_mul_ps(a1, s));
    _mm512_storeu_ps(o + i0 + 32, _mm512_mul_ps(a2, s));
    _mm512_storeu_ps(o + i0 + 48, _mm512_mul_ps(a3, s));
  }
}

// One query head of one token over T cached positions: the AVX-512 forms above where the head size
// allows (a multiple of 64), else the scalar reference.
template <typename E>
void attend_one(const float* q, const E* k, const E* v, int T, int hd, float scale, float* S, float* o) {
  const bool vec = cpu_has_avx512f() && hd % 64 == 0;
  float mx = -INFINITY;
  if (vec) {
    mx = scores_avx512(q, k, T, hd, scale, S);
  } else {
    for (int t = 0; t < T; ++t) {
      float d = 0.0f;
      for (int i = 0; i < hd; ++i) d += q[i] * load1(k + static_cast<size_t>(t) * hd + i);
      S[t] = d * scale;
      mx = std::max(mx, S[t]);
    }
  }
  const float inv = 1.0f / exp_shifted_sum(S, T, mx);
  if (vec) return weighted_sum_avx512(S, inv, v, T, hd, o);
  std::fill(o, o + hd, 0.0f);
  for (int t = 0; t < T; ++t) {
    const float pt = S[t] * inv;
    for (int i = 0; i < hd; ++i) o[i] += pt * load1(v + static_cast<size_t>(t) * hd + i);
  }
}

template <typename E>
void attention_cached_typed(const float* q, int q_stride, const E* k_cache, const E* v_cache, size_t head_stride, int n,
                            int pos, int H, int KV, int hd, float* scores, float* out, int out_stride, Share share) {
  const int T = pos + n, group = H / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  if (n == 1) {
    auto head = [&](int h) {
      attend_one(q + h * hd, k_cache + (h / group) * head_stride, v_cache + (h / group) * head_stride, T, hd, scale,
                 scores + static_cast<size_t>(h) * T, out + h * hd);
    };
    if (share.count > 0) {
      for (int h = H * share.index / share.count; h < H * (share.index + 1) / share.count; ++h) head(h);
      return;
    }
#pragma omp parallel for schedule(static)
    for (int h = 0; h < H; ++h) head(h);
    return;
  }
  TRIT_CHECK(share.count == 0, "attention_cached: shares are for one token");
#pragma omp parallel for schedule(static)
  for (int h = 0; h < H; ++h) {
    const int g = h / group;
    const float *K, *V;
    if constexpr (std::is_same_v<E, float>) {
      K = k_cache + g * head_stride;
      V = v_cache + g * head_stride;
    } else {
      // fp16 cache: this head's T rows widened once into the thread's scratch for sgemm.
      static thread_local std::vector<float> kv32;
      if (kv32.size() < 2 * static_cast<size_t>(T) * hd) kv32.resize(2 * static_cast<size_t>(T) * hd);
      for (size_t i = 0; i < static_cast<size_t>(T) * hd; ++i) {
        kv32[i] = f16_to_f32(k_cache[g * head_stride + i]);
        kv32[static_cast<size_t>(T) * hd + i] = f16_to_f32(v_cache[g * head_stride + i]);
      }
      K = kv32.data();
      V = kv32.data() + static_cast<size_t>(T) * hd;
    }
    float* S = scores + static_cast<size_t>(h) * n * T;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, T, hd, scale, q + h * hd, q_stride, K, hd, 0.0f, S, T);
    for (int j = 0; j < n; ++j) {
      float* row = S + static_cast<size_t>(j) * T;
      const int visible = pos + j + 1;
      float mx = -INFINITY;
      for (int t = 0; t < visible; ++t) mx = std::max(mx, row[t]);
      const float inv = 1.0f / exp_shifted_sum(row, visible, mx);
      for (int t = 0; t < visible; ++t) row[t] *= inv;
      std::fill(row + visible, row + T, 0.0f);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, T, 1.0f, S, T, V, hd, 0.0f, out + h * hd, out_stride);
  }
}

__attribute__((target("avx512f"))) int store_f16_avx512(const float* src, uint16_t* dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return i;
}

}  // namespace

void kv_store(const float* src, void* dst, KvType kv, int n) {
  if (kv == KvType::F32) {
    std::memcpy(dst, src, sizeof(float) * n);
    return;
  }
  uint16_t* d = static_cast<uint16_t*>(dst);
  // vcvtps2ph rounds to nearest even, as f32_to_f16 does.
  for (int i = cpu_has_avx512f() ? store_f16_avx512(src, d, n) : 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
}

// Per head: S = scale * Q K^T [n, T] (T = pos+n), row j masked past position pos+j, softmax,
// O = P V [n, hd], through sgemm. One token (decode) runs its own loop instead: two BLAS calls per
// head cost more than the work there.
void attention_cached(const float* q, int q_stride, const void* k_cache, const void* v_cache, KvType kv,
                      size_t head_stride, int n, int pos, int H, int KV, int hd, float* scores, float* out,
                      int out_stride, Share share) {
  if (kv == KvType::F16)
    return attention_cached_typed(q, q_stride, static_cast<const uint16_t*>(k_cache),
                                  static_cast<const uint16_t*>(v_cache), head_stride, n, pos, H, KV, hd, scores, out,
                                  out_stride, share);
  attention_cached_typed(q, q_stride, static_cast<const float*>(k_cache), static_cast<const float*>(v_cache),
                         head_stride, n, pos, H, KV, hd, scores, out, out_stride, share);
}

}  // namespace trit
