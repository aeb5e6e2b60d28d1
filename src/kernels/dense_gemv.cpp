#include "kernels/dense_gemv.h"

#include <immintrin.h>

#include <cstring>

#include "core/half.h"

namespace trit {

namespace {

inline float elem(const DenseMatrix& W, size_t i) {
  switch (W.type) {
    case DenseType::F32: {
      float v;
      std::memcpy(&v, W.data + 4 * i, 4);
      return v;
    }
    case DenseType::F16: {
      uint16_t h;
      std::memcpy(&h, W.data + 2 * i, 2);
      return f16_to_f32(h);
    }
    case DenseType::BF16: {
      uint16_t h;
      std::memcpy(&h, W.data + 2 * i, 2);
      return bf16_to_f32(h);
    }
    case DenseType::I8: return static_cast<float>(static_cast<int8_t>(W.data[i]));
  }
  return 0.0f;
}

void gemv_scalar(const DenseMatrix& W, const float* x, float* y) {
  for (int r = 0; r < W.rows; ++r) {
    float acc = 0.0f;
    for (int c = 0; c < W.cols; ++c) acc += elem(W, static_cast<size_t>(r) * W.cols + c) * x[c];
    y[r] = W.type == DenseType::I8 ? acc * W.row_scales[r] : acc;
  }
}

__attribute__((target("avx512f,avx512bw,f16c,fma"))) void gemv_avx512(const DenseMatrix& W, const float* x, float* y) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < W.rows; ++r) {
    const size_t base = static_cast<size_t>(r) * W.cols;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int c = 0;
    for (; c + 32 <= W.cols; c += 32) {
      __m512 w0, w1;
      switch (W.type) {
        case DenseType::F32:
          w0 = _mm512_loadu_ps(reinterpret_cast<const float*>(W.data) + base + c);
          w1 = _mm512_loadu_ps(reinterpret_cast<const float*>(W.data) + base + c + 16);
          break;
        case DenseType::F16:
          w0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(W.data + 2 * (base + c))));
          w1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(W.data + 2 * (base + c + 16))));
          break;
        case DenseType::BF16:
          w0 = _mm512_castsi512_ps(_mm512_slli_epi32(
              _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(W.data + 2 * (base + c)))), 16));
          w1 = _mm512_castsi512_ps(_mm512_slli_epi32(
              _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(W.data + 2 * (base + c + 16)))),
              16));
          break;
        default:
          w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(W.data + base + c))));
          w1 = _mm512_cvtepi32_ps(
              _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(W.data + base + c + 16))));
      }
      a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + c), a0);
      a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + c + 16), a1);
    }
    float acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; c < W.cols; ++c) acc += elem(W, base + c) * x[c];
    y[r] = W.type == DenseType::I8 ? acc * W.row_scales[r] : acc;
  }
}

}  // namespace

void dense_gemv(const DenseMatrix& W, const float* x, float* y, SimdLevel level) {
  if (level == SimdLevel::AVX512) return gemv_avx512(W, x, y);
  gemv_scalar(W, x, y);
}

void dense_row(const DenseMatrix& W, int row, float* out) {
  const size_t base = static_cast<size_t>(row) * W.cols;
  for (int c = 0; c < W.cols; ++c) out[c] = elem(W, base + c) * (W.type == DenseType::I8 ? W.row_scales[row] : 1.0f);
}

}  // namespace trit
