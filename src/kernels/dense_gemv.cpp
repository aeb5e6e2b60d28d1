#include "kernels/dense_gemv.h"

// GCC 12 reports its own _mm512_undefined_* placeholders inside the conversion and reduction
// intrinsics as uninitialized; the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

#include <cstring>
#include <vector>

#include <omp.h>

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

// 16 (AVX-512) or 8 (AVX2) weights of type T from element i, widened to fp32.
template <DenseType T>
__attribute__((target("avx512f,avx512bw,f16c,fma"))) inline __m512 load16(const uint8_t* data, size_t i) {
  if constexpr (T == DenseType::F32) return _mm512_loadu_ps(reinterpret_cast<const float*>(data) + i);
  if constexpr (T == DenseType::F16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 2 * i)));
  if constexpr (T == DenseType::BF16)
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 2 * i))), 16));
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i))));
}
template <DenseType T>
__attribute__((target("avx2,f16c,fma"))) inline __m256 load8(const uint8_t* data, size_t i) {
  if constexpr (T == DenseType::F32) return _mm256_loadu_ps(reinterpret_cast<const float*>(data) + i);
  if constexpr (T == DenseType::F16) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 2 * i)));
  if constexpr (T == DenseType::BF16)
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 2 * i))), 16));
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(data + i))));
}

// Rows [r0, r1), each a stream of weights widened in registers and multiplied into fp32
// accumulators; columns past the last whole vector go through the scalar element.
template <DenseType T>
__attribute__((target("avx512f,avx512bw,f16c,fma"))) void gemv_avx512(const DenseMatrix& W, const float* x, float* y,
                                                                       int r0, int r1) {
  constexpr size_t kBytes = T == DenseType::F32 ? 4 : T == DenseType::I8 ? 1 : 2;
  for (int r = r0; r < r1; ++r) {
    const size_t base = static_cast<size_t>(r) * W.cols;
    // Four independent accumulators; the bytes 1 KB ahead of the row's stream are requested.
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int c = 0;
    for (; c + 64 <= W.cols; c += 64) {
      for (size_t line = 0; line < 64 * kBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(W.data + (base + c) * kBytes + line + 1024), _MM_HINT_T0);
      a0 = _mm512_fmadd_ps(load16<T>(W.data, base + c), _mm512_loadu_ps(x + c), a0);
      a1 = _mm512_fmadd_ps(load16<T>(W.data, base + c + 16), _mm512_loadu_ps(x + c + 16), a1);
      a2 = _mm512_fmadd_ps(load16<T>(W.data, base + c + 32), _mm512_loadu_ps(x + c + 32), a2);
      a3 = _mm512_fmadd_ps(load16<T>(W.data, base + c + 48), _mm512_loadu_ps(x + c + 48), a3);
    }
    for (; c + 16 <= W.cols; c += 16) a0 = _mm512_fmadd_ps(load16<T>(W.data, base + c), _mm512_loadu_ps(x + c), a0);
    float acc = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; c < W.cols; ++c) acc += elem(W, base + c) * x[c];
    y[r] = T == DenseType::I8 ? acc * W.row_scales[r] : acc;
  }
}

template <DenseType T>
__attribute__((target("avx2,f16c,fma"))) void gemv_avx2(const DenseMatrix& W, const float* x, float* y, int r0,
                                                        int r1) {
  for (int r = r0; r < r1; ++r) {
    const size_t base = static_cast<size_t>(r) * W.cols;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int c = 0;
    for (; c + 16 <= W.cols; c += 16) {
      a0 = _mm256_fmadd_ps(load8<T>(W.data, base + c), _mm256_loadu_ps(x + c), a0);
      a1 = _mm256_fmadd_ps(load8<T>(W.data, base + c + 8), _mm256_loadu_ps(x + c + 8), a1);
    }
    const __m256 a = _mm256_add_ps(a0, a1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float acc = _mm_cvtss_f32(h);
    for (; c < W.cols; ++c) acc += elem(W, base + c) * x[c];
    y[r] = T == DenseType::I8 ? acc * W.row_scales[r] : acc;
  }
}

void gemv_simd_rows(const DenseMatrix& W, const float* x, float* y, SimdLevel level, int r0, int r1) {
  const bool v512 = level == SimdLevel::AVX512;
  switch (W.type) {
    case DenseType::F32:
      return v512 ? gemv_avx512<DenseType::F32>(W, x, y, r0, r1) : gemv_avx2<DenseType::F32>(W, x, y, r0, r1);
    case DenseType::F16:
      return v512 ? gemv_avx512<DenseType::F16>(W, x, y, r0, r1) : gemv_avx2<DenseType::F16>(W, x, y, r0, r1);
    case DenseType::BF16:
      return v512 ? gemv_avx512<DenseType::BF16>(W, x, y, r0, r1) : gemv_avx2<DenseType::BF16>(W, x, y, r0, r1);
    case DenseType::I8:
      return v512 ? gemv_avx512<DenseType::I8>(W, x, y, r0, r1) : gemv_avx2<DenseType::I8>(W, x, y, r0, r1);
  }
}

// Rows [rows*id/nt, rows*(id+1)/nt): the share of thread id of nt.
template <typename RowsFn>
void run_share(int rows, Share share, RowsFn rows_fn) {
  auto run = [&](int id, int nt) {
    rows_fn(static_cast<int>(static_cast<int64_t>(rows) * id / nt),
            static_cast<int>(static_cast<int64_t>(rows) * (id + 1) / nt));
  };
  if (share.count > 0) return run(share.index, share.count);
#pragma omp parallel
  run(omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace

void dense_gemv(const DenseMatrix& W, const float* x, float* y, SimdLevel level, Share share) {
  if (level != SimdLevel::Scalar)
    return run_share(W.rows, share, [&](int r0, int r1) { gemv_simd_rows(W, x, y, level, r0, r1); });
  if (share.index == 0) gemv_scalar(W, x, y);
}

void dense_row(const DenseMatrix& W, int row, float* out) {
  const size_t base = static_cast<size_t>(row) * W.cols;
  for (int c = 0; c < W.cols; ++c) out[c] = elem(W, base + c) * (W.type == DenseType::I8 ? W.row_scales[row] : 1.0f);
}

void dense_row_sums(const DenseMatrix& W, int32_t* row_sums) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < W.rows; ++r) {
    const int8_t* w = reinterpret_cast<const int8_t*>(W.data) + static_cast<size_t>(r) * W.cols;
    int32_t s = 0;
    for (int c = 0; c < W.cols; ++c) s += w[c];
    row_sums[r] = s;
  }
}

namespace {

void gemv_i8_i8_scalar(const DenseMatrix& W, const int8_t* x8, float x_scale, float* y) {
  for (int r = 0; r < W.rows; ++r) {
    const int8_t* w = reinterpret_cast<const int8_t*>(W.data) + static_cast<size_t>(r) * W.cols;
    int64_t s = 0;
    for (int c = 0; c < W.cols; ++c) s += static_cast<int32_t>(w[c]) * x8[c];
    y[r] = W.row_scales[r] * x_scale * static_cast<float>(s);
  }
}

// Rows [r0, r1), one at a time, 4 independent accumulators over 64-byte pieces, the bytes 1 KB ahead
// requested (the streaming pattern of the ternary decode kernel). The thread first writes x+128 as
// unsigned bytes into its own buffer (grown once); columns past W.cols are masked off.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void gemv_i8_i8_avx512_rows(
    const DenseMatrix& W, const int8_t* x8, float x_scale, const int32_t* row_sums, float* y, int r0, int r1) {
  const int n64 = W.cols / 64, tail = W.cols % 64;
  const __mmask64 tail_mask = tail ? (~0ULL >> (64 - tail)) : 0;
  static thread_local std::vector<uint8_t> xu;
  if (xu.size() < static_cast<size_t>(W.cols)) xu.resize(W.cols);
  for (int c = 0; c < W.cols; ++c) xu[c] = static_cast<uint8_t>(x8[c] ^ 0x80);
  const uint8_t* xp = xu.data();
  for (int r = r0; r < r1; ++r) {
    const uint8_t* w = W.data + static_cast<size_t>(r) * W.cols;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    int k = 0;
    for (; k + 4 <= n64; k += 4) {
      for (int line = 0; line < 4; ++line)
        _mm_prefetch(reinterpret_cast<const char*>(w + 64 * (k + line) + 1024), _MM_HINT_T0);
      a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(xp + 64 * k), _mm512_loadu_si512(w + 64 * k));
      a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(xp + 64 * k + 64), _mm512_loadu_si512(w + 64 * k + 64));
      a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512(xp + 64 * k + 128), _mm512_loadu_si512(w + 64 * k + 128));
      a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512(xp + 64 * k + 192), _mm512_loadu_si512(w + 64 * k + 192));
    }
    for (; k < n64; ++k) a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(xp + 64 * k), _mm512_loadu_si512(w + 64 * k));
    if (tail)
      a1 = _mm512_dpbusd_epi32(a1, _mm512_maskz_loadu_epi8(tail_mask, xp + 64 * n64),
                               _mm512_maskz_loadu_epi8(tail_mask, w + 64 * n64));
    const int32_t s = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)));
    y[r] = W.row_scales[r] * x_scale * static_cast<float>(s - 128 * row_sums[r]);
  }
}

// AVX2: vpmaddubsw needs one unsigned operand; |w| is, and sign(w)*x carries the sign. Pairs sum
// to at most 2*128*127, inside int16, so nothing saturates. No row sums are needed.
__attribute__((target("avx2"))) void gemv_i8_i8_avx2(const DenseMatrix& W, const int8_t* x8, float x_scale,
                                                     float* y) {
  const __m256i ones = _mm256_set1_epi16(1);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < W.rows; ++r) {
    const int8_t* w = reinterpret_cast<const int8_t*>(W.data) + static_cast<size_t>(r) * W.cols;
    __m256i acc = _mm256_setzero_si256();
    int c = 0;
    for (; c + 32 <= W.cols; c += 32) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c));
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x8 + c));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv)), ones));
    }
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    int64_t s = _mm_cvtsi128_si32(h);
    for (; c < W.cols; ++c) s += static_cast<int32_t>(w[c]) * x8[c];
    y[r] = W.row_scales[r] * x_scale * static_cast<float>(s);
  }
}

}  // namespace

void dense_gemv_i8(const DenseMatrix& W, const int8_t* x8, float x_scale, const int32_t* row_sums, float* y,
                   SimdLevel level, Share share) {
  if (level == SimdLevel::AVX512)
    return run_share(W.rows, share,
                     [&](int r0, int r1) { gemv_i8_i8_avx512_rows(W, x8, x_scale, row_sums, y, r0, r1); });
  if (share.index != 0) return;  // below AVX-512 inside a caller's region: thread 0 computes it all
  if (level == SimdLevel::AVX2) return gemv_i8_i8_avx2(W, x8, x_scale, y);
  gemv_i8_i8_scalar(W, x8, x_scale, y);
}

}  // namespace trit
