#include "kernels/ternary_gemv.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/half.h"
#include "kernels/quant.h"
#include "kernels/ternary_pack.h"

namespace trit {

SimdLevel detect_simd() {
  // TRIT_SIMD=scalar|avx2|avx512 caps the level (for benchmarks and tests of each path).
  const char* cap = std::getenv("TRIT_SIMD");
  const SimdLevel limit = !cap ? SimdLevel::AVX512
                          : std::strcmp(cap, "scalar") == 0 ? SimdLevel::Scalar
                          : std::strcmp(cap, "avx2") == 0   ? SimdLevel::AVX2
                                                            : SimdLevel::AVX512;
  const SimdLevel hw = detect_simd_hw();
  return static_cast<int>(hw) < static_cast<int>(limit) ? hw : limit;
}

SimdLevel detect_simd_hw() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vnni"))
    return SimdLevel::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::AVX2;
  return SimdLevel::Scalar;
}

const char* simd_name(SimdLevel s) {
  return s == SimdLevel::AVX512 ? "AVX-512 VNNI" : s == SimdLevel::AVX2 ? "AVX2" : "scalar";
}

float quantize_row_i8(const float* x, int cols, int padded_cols, int8_t* x8, int32_t* xsum32) {
  float amax = 0.0f;
  for (int c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(x[c]));
  const float s = 127.0f / std::max(amax, kActScaleEps);
  for (int c = 0; c < cols; ++c) x8[c] = static_cast<int8_t>(std::min(127.0f, std::max(-128.0f, std::nearbyint(x[c] * s))));
  for (int c = cols; c < padded_cols; ++c) x8[c] = 0;
  for (int i = 0; i < padded_cols / 32; ++i) {
    int32_t sum = 0;
    for (int k = 0; k < 32; ++k) sum += x8[32 * i + k];
    xsum32[i] = sum;
  }
  return 1.0f / s;
}

namespace {

inline size_t row_bytes(const Trit2Matrix& W) {
  return W.tq2_0 ? tq2_0_row_bytes(W.cols) : W.trit1 ? trit1_row_bytes(W.cols) : trit2_row_bytes(W.cols);
}

// The 32 bytes of 128-weight chunk k of a row.
inline const uint8_t* chunk_ptr(const Trit2Matrix& W, const uint8_t* row, int k) {
  return W.tq2_0 ? row + static_cast<size_t>(k >> 1) * kTQ2Bytes + (k & 1) * 32 : row + static_cast<size_t>(k) * 32;
}

inline float group_scale(const Trit2Matrix& W, int r, int c) {
  if (W.tq2_0) {
    const uint8_t* d = W.codes + r * row_bytes(W) + static_cast<size_t>(c / kTQBlock) * kTQ2Bytes + 64;
    return f16_to_f32(static_cast<uint16_t>(d[0] | d[1] << 8));
  }
  if (W.group == kScaleTensor) return W.scales[0];
  if (W.group == kScaleRow) return W.scales[r];
  return W.scales[static_cast<size_t>(r) * (W.cols / W.group) + c / W.group];
}

// Scalar references: decode every code, multiply, add per group.
inline int code_at(const Trit2Matrix& W, const uint8_t* row, int c) {
  if (W.trit1) {
    int8_t t[5];
    decode_trits5(row[static_cast<size_t>(c / kTrit1Chunk) * 32 + c % 32], t);
    return t[(c % kTrit1Chunk) / 32];
  }
  return ((chunk_ptr(W, row, c / kTrit2Chunk)[c % 32] >> (2 * ((c % kTrit2Chunk) / 32))) & 3) - 1;
}

// A row is read in slices of 32 weights (a quarter of a chunk); a scale group is a whole number of
// slices. Slices past the last column hold only padding and are skipped.
struct SliceGeometry {
  size_t row_bytes;
  int slices, slices_per_group;
};
inline SliceGeometry slice_geometry(const Trit2Matrix& W) {
  const int n = (W.cols + 31) / 32;
  return {row_bytes(W), n, W.tq2_0 ? kTQBlock / 32 : W.group > 0 ? W.group / 32 : n};
}

inline int group_len(const Trit2Matrix& W) { return W.tq2_0 ? kTQBlock : W.group > 0 ? W.group : W.cols; }

void gemv_i8_scalar(const Trit2Matrix& W, const int8_t* x, float x_scale, float* y) {
  const size_t rb = row_bytes(W);
  for (int r = 0; r < W.rows; ++r) {
    const uint8_t* row = W.codes + r * rb;
    double acc = 0.0;
    int64_t part = 0;
    const int g = group_len(W);
    for (int c = 0; c < W.cols; ++c) {
      const int t = code_at(W, row, c);
      part += t * x[c];
      if ((c + 1) % g == 0 || c + 1 == W.cols) {
        acc += static_cast<double>(group_scale(W, r, c)) * static_cast<double>(part);
        part = 0;
      }
    }
    y[r] = static_cast<float>(acc) * x_scale;
  }
}

void gemv_f32_scalar(const Trit2Matrix& W, const float* x, float* y) {
  const size_t rb = row_bytes(W);
  for (int r = 0; r < W.rows; ++r) {
    const uint8_t* row = W.codes + r * rb;
    float acc = 0.0f, part = 0.0f;
    const int g = group_len(W);
    for (int c = 0; c < W.cols; ++c) {
      const int t = code_at(W, row, c);
      part += static_cast<float>(t) * x[c];
      if ((c + 1) % g == 0 || c + 1 == W.cols) {
        acc += group_scale(W, r, c) * part;
        part = 0.0f;
      }
    }
    y[r] = acc;
  }
}

// The 32 codes q = t + 1 in {0,1,2} of slice s of a row (weights 32s..32s+31), as bytes.
static inline __attribute__((always_inline, target("avx2"))) __m256i slice_codes(const Trit2Matrix& W,
                                                                                const uint8_t* row, int s) {
  if (!W.trit1) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk_ptr(W, row, s / 4)));
    return _mm256_and_si256(_mm256_srli_epi16(v, 2 * (s % 4)), _mm256_set1_epi8(3));
  }
  // Digit n of a pre-scaled base-3 byte b: ((uint8)(b * 3^n) * 3) >> 8, on 16-bit lanes (low and
  // high bytes apart) since AVX2 has no byte multiply.
  static constexpr int16_t pow3[5] = {1, 3, 9, 27, 81};
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + static_cast<size_t>(s / 5) * 32));
  const __m256i p = _mm256_set1_epi16(pow3[s % 5]), lo8 = _mm256_set1_epi16(0xff), three = _mm256_set1_epi16(3);
  const __m256i lo = _mm256_and_si256(_mm256_mullo_epi16(v, p), lo8);
  const __m256i hi = _mm256_and_si256(_mm256_mullo_epi16(_mm256_srli_epi16(v, 8), p), lo8);
  const __m256i dlo = _mm256_srli_epi16(_mm256_mullo_epi16(lo, three), 8);
  const __m256i dhi = _mm256_srli_epi16(_mm256_mullo_epi16(hi, three), 8);
  return _mm256_or_si256(dlo, _mm256_slli_epi16(dhi, 8));
}

// Sum of the 8 int32 lanes.
__attribute__((target("avx2"))) inline int32_t hsum8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// Every product walks a row group by group (a group is a whole number of 32-weight slices, so a
// slice never straddles two groups): y[r] = post_scale * sum_G scale(G) * group_sum(row, s0, s1).
template <typename GroupSum>
inline void for_each_group(const Trit2Matrix& W, float post_scale, float* y, GroupSum group_sum) {
  const auto [rb, nslices, g_slices] = slice_geometry(W);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < W.rows; ++r) {
    const uint8_t* row = W.codes + r * rb;
    float acc = 0.0f;
    for (int s0 = 0; s0 < nslices; s0 += g_slices) {
      const int s1 = std::min(nslices, s0 + g_slices);
      acc += group_scale(W, r, s0 * 32) * group_sum(row, s0, s1);
    }
    y[r] = acc * post_scale;
  }
}

// The integer kernels: `dot` returns sum q*x over the slices, and sum t*x = sum q*x - sum x.
template <typename Dot>
inline void gemv_i8_slices(const Trit2Matrix& W, const int32_t* xsum32, float x_scale, float* y, Dot dot) {
  for_each_group(W, x_scale, y, [&](const uint8_t* row, int s0, int s1) {
    int32_t xs = 0;
    for (int s = s0; s < s1; ++s) xs += xsum32[s];
    return static_cast<float>(dot(row, s0, s1) - xs);
  });
}

__attribute__((target("avx2,fma"))) void gemv_i8_avx2(const Trit2Matrix& W, const int8_t* x, const int32_t* xsum32,
                                                      float x_scale, float* y) {
  const __m256i ones = _mm256_set1_epi16(1);
  gemv_i8_slices(W, xsum32, x_scale, y, [&](const uint8_t* row, int s0, int s1) {
    __m256i acc = _mm256_setzero_si256();
    for (int s = s0; s < s1; ++s) {
      const __m256i q = slice_codes(W, row, s);
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + s * 32));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q, xv), ones));
    }
    return hsum8(acc);
  });
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2"))) void gemv_i8_avx512(const Trit2Matrix& W,
                                                                                          const int8_t* x,
                                                                                          const int32_t* xsum32,
                                                                                          float x_scale, float* y) {
  const __m256i mask = _mm256_set1_epi8(3);
  gemv_i8_slices(W, xsum32, x_scale, y, [&](const uint8_t* row, int s0, int s1) {
    __m256i acc = _mm256_setzero_si256();
    int s = s0;
    // Whole chunks: one 32-byte load feeds four dot products.
    for (; !W.trit1 && s % 4 == 0 && s + 4 <= s1; s += 4) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk_ptr(W, row, s / 4)));
      const __m256i* xv = reinterpret_cast<const __m256i*>(x + s * 32);
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(v, mask), _mm256_loadu_si256(xv));
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(_mm256_srli_epi16(v, 2), mask), _mm256_loadu_si256(xv + 1));
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(_mm256_srli_epi16(v, 4), mask), _mm256_loadu_si256(xv + 2));
      acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(_mm256_srli_epi16(v, 6), mask), _mm256_loadu_si256(xv + 3));
    }
    for (; s < s1; ++s) {
      const __m256i q = slice_codes(W, row, s);
      acc = _mm256_dpbusd_epi32(acc, q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + s * 32)));
    }
    return hsum8(acc);
  });
}

__attribute__((target("avx2,fma"))) void gemv_f32_avx2(const Trit2Matrix& W, const float* x, float* y) {
  for_each_group(W, 1.0f, y, [&](const uint8_t* row, int s0, int s1) {
    __m256 a = _mm256_setzero_ps();
    for (int s = s0; s < s1; ++s) {
      alignas(32) uint8_t q8[32];
      _mm256_store_si256(reinterpret_cast<__m256i*>(q8), slice_codes(W, row, s));
      for (int k = 0; k < 32; k += 8) {
        const __m256i q = _mm256_sub_epi32(
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q8 + k))), _mm256_set1_epi32(1));
        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q), _mm256_loadu_ps(x + s * 32 + k), a);
      }
    }
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
  });
}

// NJ activation rows share each decoded weight chunk; NJ is a compile-time constant so that the
// accumulators stay in registers.
template <int NJ>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2"))) void gemm_i8_tile_avx512(
    const Trit2Matrix& W, const int8_t* x8, const int32_t* xsum32, int x_stride, const float* x_scale, float* y,
    int y_stride) {
  const auto [rb, nslices, g_slices] = slice_geometry(W);
  const int xs_stride = x_stride / 32;
#pragma omp parallel for schedule(static)
  for (int r = 0; r < W.rows; ++r) {
    const uint8_t* row = W.codes + r * rb;
    float out[NJ] = {};
    for (int s0 = 0; s0 < nslices; s0 += g_slices) {
      const int s1 = std::min(nslices, s0 + g_slices);
      __m256i acc[NJ];
#pragma GCC unroll 8
      for (int j = 0; j < NJ; ++j) acc[j] = _mm256_setzero_si256();
      for (int s = s0; s < s1; ++s) {
        const __m256i q = slice_codes(W, row, s);
#pragma GCC unroll 8
        for (int j = 0; j < NJ; ++j)
          acc[j] = _mm256_dpbusd_epi32(
              acc[j], q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x8 + static_cast<size_t>(j) * x_stride + s * 32)));
      }
      const float gs = group_scale(W, r, s0 * 32);
#pragma GCC unroll 8
      for (int j = 0; j < NJ; ++j) {
        int32_t xs = 0;
        for (int s = s0; s < s1; ++s) xs += xsum32[static_cast<size_t>(j) * xs_stride + s];
        out[j] += gs * static_cast<float>(hsum8(acc[j]) - xs);
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < NJ; ++j) y[static_cast<size_t>(j) * y_stride + r] = out[j] * x_scale[j];
  }
}

}  // namespace

void trit2_gemm_i8(const Trit2Matrix& W, int n, const int8_t* x8, const int32_t* xsum32, int x_stride,
                   const float* x_scale, float* y, int y_stride, SimdLevel level) {
  int j = 0;
  if (level == SimdLevel::AVX512)
    for (; j + 8 <= n; j += 8)
      gemm_i8_tile_avx512<8>(W, x8 + static_cast<size_t>(j) * x_stride, xsum32 + static_cast<size_t>(j) * (x_stride / 32),
                             x_stride, x_scale + j, y + static_cast<size_t>(j) * y_stride, y_stride);
  // The remaining rows (and every row below AVX-512) go one at a time.
  for (; j < n; ++j)
    trit2_gemv_i8(W, x8 + static_cast<size_t>(j) * x_stride, xsum32 + static_cast<size_t>(j) * (x_stride / 32),
                  x_scale[j], y + static_cast<size_t>(j) * y_stride, level);
}

void trit2_gemv_i8(const Trit2Matrix& W, const int8_t* x8, const int32_t* xsum32, float x_scale, float* y,
                   SimdLevel level) {
  if (level == SimdLevel::AVX512) return gemv_i8_avx512(W, x8, xsum32, x_scale, y);
  if (level == SimdLevel::AVX2) return gemv_i8_avx2(W, x8, xsum32, x_scale, y);
  gemv_i8_scalar(W, x8, x_scale, y);
}

void trit2_gemv_f32(const Trit2Matrix& W, const float* x, float* y, SimdLevel level) {
  if (level != SimdLevel::Scalar) return gemv_f32_avx2(W, x, y);
  gemv_f32_scalar(W, x, y);
}

}  // namespace trit
