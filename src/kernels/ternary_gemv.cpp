#include "kernels/ternary_gemv.h"

// GCC 12 reports its own _mm512_undefined_* placeholders inside the reduction intrinsics as
// "maybe uninitialized"; the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <omp.h>

#include "core/cpu.h"
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

float quantize_row_i8_ref(const float* x, int cols, int padded_cols, int8_t* x8, int32_t* xsum32) {
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

// The same numbers 16 at a time: the product x*s is the same float multiply, vcvtps2dq rounds to
// nearest-even as nearbyint does, and the signed saturation to int8 is the clamp.
__attribute__((target("avx512f,avx512bw,avx512vl,avx2"))) static float quantize_row_i8_avx512(
    const float* x, int cols, int padded_cols, int8_t* x8, int32_t* xsum32) {
  __m512 m = _mm512_setzero_ps();
  int c = 0;
  for (; c + 16 <= cols; c += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + c)));
  float amax = _mm512_reduce_max_ps(m);
  for (; c < cols; ++c) amax = std::max(amax, std::fabs(x[c]));
  const float s = 127.0f / std::max(amax, kActScaleEps);
  const __m512 sv = _mm512_set1_ps(s);
  for (c = 0; c + 16 <= cols; c += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(x8 + c),
                     _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + c), sv))));
  for (; c < cols; ++c) x8[c] = static_cast<int8_t>(std::min(127.0f, std::max(-128.0f, std::nearbyint(x[c] * s))));
  std::memset(x8 + cols, 0, padded_cols - cols);
  // Sums of 32 bytes: sad over x+128, minus 32*128.
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int i = 0; i < padded_cols / 32; ++i) {
    const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x8 + 32 * i)), bias);
    const __m256i sad = _mm256_sad_epu8(v, _mm256_setzero_si256());
    xsum32[i] = static_cast<int32_t>(_mm256_extract_epi64(sad, 0) + _mm256_extract_epi64(sad, 1) +
                                     _mm256_extract_epi64(sad, 2) + _mm256_extract_epi64(sad, 3)) -
                32 * 128;
  }
  return 1.0f / s;
}

float quantize_row_i8(const float* x, int cols, int padded_cols, int8_t* x8, int32_t* xsum32) {
  static const bool avx512 = detect_simd_hw() == SimdLevel::AVX512;
  return avx512 ? quantize_row_i8_avx512(x, cols, padded_cols, x8, xsum32)
                : quantize_row_i8_ref(x, cols, padded_cols, x8, xsum32);
}

namespace {

inline size_t row_bytes(const Trit2Matrix& W) {
  return W.tq2_0   ? tq2_0_row_bytes(W.cols)
         : W.tq1_0 ? tq1_0_row_bytes(W.cols)
         : W.trit1 ? trit1_row_bytes(W.cols)
                   : trit2_row_bytes(W.cols);
}

// The 32 bytes of 128-weight chunk k of a row.
inline const uint8_t* chunk_ptr(const Trit2Matrix& W, const uint8_t* row, int k) {
  return W.tq2_0 ? row + static_cast<size_t>(k >> 1) * kTQ2Bytes + (k & 1) * 32 : row + static_cast<size_t>(k) * 32;
}

inline float group_scale(const Trit2Matrix& W, int r, int c) {
  if (W.tq2_0 || W.tq1_0) {
    const size_t block = W.tq2_0 ? kTQ2Bytes : kTQ1Bytes;
    const uint8_t* d = W.codes + r * row_bytes(W) + static_cast<size_t>(c / kTQBlock) * block + block - 2;
    return f16_to_f32(static_cast<uint16_t>(d[0] | d[1] << 8));
  }
  if (W.group == kScaleTensor) return W.scales[0];
  if (W.group == kScaleRow) return W.scales[r];
  return W.scales[static_cast<size_t>(r) * (W.cols / W.group) + c / W.group];
}

// Element e (0..255) of a TQ1_0 block, as t in {-1,0,1}: qs[0..31] hold e = m + 32n, qs[32..47]
// e = 160 + m + 16n, qh[0..3] e = 240 + j + 4n (digit n of byte m or j).
inline int tq1_0_element(const uint8_t* blk, int e) {
  int8_t t[5];
  if (e < 160) {
    decode_trits5(blk[e % 32], t);
    return t[e / 32];
  }
  if (e < 240) {
    decode_trits5(blk[32 + (e - 160) % 16], t);
    return t[(e - 160) / 16];
  }
  decode_trits5(blk[48 + (e - 240) % 4], t);
  return t[(e - 240) / 4];
}

// Scalar references: decode every code, multiply, add per group.
inline int code_at(const Trit2Matrix& W, const uint8_t* row, int c) {
  if (W.tq1_0) return tq1_0_element(row + static_cast<size_t>(c / kTQBlock) * kTQ1Bytes, c % kTQBlock);
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
  return {row_bytes(W), n, W.tq2_0 || W.tq1_0 ? kTQBlock / 32 : W.group > 0 ? W.group / 32 : n};
}

inline int group_len(const Trit2Matrix& W) { return W.tq2_0 || W.tq1_0 ? kTQBlock : W.group > 0 ? W.group : W.cols; }

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
  if (W.tq1_0) {
    // Slices 0..4 of a block are digit s of its first 32 bytes (the trit1 layout, below); the last
    // three mix digits of qs[32..47] and qh and are decoded one element at a time.
    const uint8_t* blk = row + static_cast<size_t>(s / 8) * kTQ1Bytes;
    if (s % 8 >= 5) {
      alignas(32) uint8_t q[32];
      for (int i = 0; i < 32; ++i) q[i] = static_cast<uint8_t>(tq1_0_element(blk, 32 * (s % 8) + i) + 1);
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(q));
    }
    row = blk;
    s %= 8;
  } else if (!W.trit1) {
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
    for (; !W.trit1 && !W.tq1_0 && s % 4 == 0 && s + 4 <= s1; s += 4) {
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

// Decode fast path (AVX-512), for layouts whose scales change at most every 256 weights: TRIT2 with
// one scale per tensor, per row or per group of a multiple of 256, and TQ2_0. A 256-weight block is
// one 64-byte load of two chunks [chunk 2b | chunk 2b+1]; shifting it by 2s and masking gives slice s
// of both chunks, which meets x[256b+32s ..+32] in the low half and x[256b+128+32s ..+32] in the high
// half. The rows a thread walks are one contiguous stretch of memory, which the hardware prefetcher
// follows as one stream.
#define TRIT_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512dq,avx2,fma,f16c")))


bool block_path_applies(const Trit2Matrix& W) {
  // TRIT1's digit tables need vpermt2b (AVX-512 VBMI).
  if (W.trit1) return (W.group == kScaleTensor || W.group == kScaleRow) && W.cols <= kMaxBlockCols && cpu_has_avx512vbmi();
  return !W.tq1_0 && (W.tq2_0 || W.group == kScaleTensor || W.group == kScaleRow || W.group % kTQBlock == 0) &&
         W.cols <= kMaxBlockCols;
}

struct BlockGeometry {
  size_t row_bytes, block_bytes;
  int blocks, blocks_per_scale;
  bool tail_chunk;  // an odd number of 128-weight chunks: the last one alone (one scale per row then)
};

inline BlockGeometry block_geometry(const Trit2Matrix& W) {
  const int chunks = (W.cols + kTrit2Chunk - 1) / kTrit2Chunk;
  BlockGeometry g{row_bytes(W), W.tq2_0 ? kTQ2Bytes : 64, chunks / 2, 0, (chunks & 1) != 0};
  g.blocks_per_scale = W.tq2_0 ? 1 : W.group > 0 ? W.group / kTQBlock : 0;  // 0: one scale for the row
  return g;
}

TRIT_AVX512_TARGET inline float block_scale(const Trit2Matrix& W, const BlockGeometry& g, int r, int b) {
  if (W.tq2_0) {  // the block's inline fp16 scale, widened by the F16C instruction (every AVX-512 CPU has it)
    const uint8_t* d = W.codes + r * g.row_bytes + static_cast<size_t>(b) * kTQ2Bytes + 64;
    return _cvtsh_ss(static_cast<uint16_t>(d[0] | d[1] << 8));
  }
  return W.scales[static_cast<size_t>(r) * (W.cols / W.group) + b / g.blocks_per_scale];
}

// x rearranged once per product so that block b's four slice vectors are 256 contiguous bytes:
// pairs[256b + 64s ..] = [x[256b+32s ..+32] | x[256b+128+32s ..+32]].
TRIT_AVX512_TARGET inline void pair_x(const int8_t* x, int blocks, int8_t* pairs) {
  for (int b = 0; b < blocks; ++b)
    for (int s = 0; s < 4; ++s) {
      std::memcpy(pairs + 256 * b + 64 * s, x + 256 * b + 32 * s, 32);
      std::memcpy(pairs + 256 * b + 64 * s + 32, x + 256 * b + 128 + 32 * s, 32);
    }
}

// acc += u8 a . s8 b in place. GCC 12 copies the accumulator of the intrinsic to a fresh register and
// back around every vpdpbusd in these loops (two extra zmm moves per dot product); the asm form
// keeps it in place.
TRIT_AVX512_TARGET inline void dpbusd_inplace(__m512i& acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(b));
}

// y[r] for one input vector. A 256-weight block of a row is one 64-byte load v; slice s is isolated
// by a mask alone, without a shift: (v & 3<<2s) = 4^s q, so slice s accumulates 4^s times its sum in
// its own register (four independent chains), divided back exactly (arithmetic shift) when a scale
// segment ends. Per block: one load, 4 ands, 4 dot products with the paired activations, and a
// request for the bytes kPrefetchBytes ahead. Each thread walks its rows as one sequential stream.
// Measured on this machine, 2 threads, 24 matrices of 1536x4096 and 4096x1536: 24-28 GB/s; the
// shift-and-mask form reached 20-22 GB/s, and two or four rows sharing the activation registers
// 11-16 GB/s (two interleaved streams prefetch worse than one).
// xseg: sum of x over each scale segment (segmented layouts); xall: sum of x over the row.
constexpr int kPrefetchBytes = 4096;

// The exact sums q.x per lane: a_k holds 4^k times slice k's.
TRIT_AVX512_TARGET inline __m512i slice_sums(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
  return _mm512_add_epi32(_mm512_add_epi32(a0, _mm512_srai_epi32(a1, 2)),
                          _mm512_add_epi32(_mm512_srai_epi32(a2, 4), _mm512_srai_epi32(a3, 6)));
}
// The last 128-weight chunk of a row with an odd number of chunks (one scale per row then).
TRIT_AVX512_TARGET inline int32_t tail_chunk_sum(const uint8_t* chunk, const int8_t* x) {
  const __m256i m = _mm256_set1_epi8(3);
  const __m256i* xv = reinterpret_cast<const __m256i*>(x);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk));
  __m256i t = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_and_si256(v, m), _mm256_loadu_si256(xv));
  t = _mm256_dpbusd_epi32(t, _mm256_and_si256(_mm256_srli_epi16(v, 2), m), _mm256_loadu_si256(xv + 1));
  t = _mm256_dpbusd_epi32(t, _mm256_and_si256(_mm256_srli_epi16(v, 4), m), _mm256_loadu_si256(xv + 2));
  t = _mm256_dpbusd_epi32(t, _mm256_and_si256(_mm256_srli_epi16(v, 6), m), _mm256_loadu_si256(xv + 3));
  return hsum8(t);
}

template <bool kSegmented>
TRIT_AVX512_TARGET inline void block_row_i8(const Trit2Matrix& W, const BlockGeometry& g, int r, const int8_t* x,
                                           const int8_t* pairs, const int32_t* xseg, int32_t xall, float x_scale,
                                           float* y) {
  const uint8_t* row = W.codes + static_cast<size_t>(r) * g.row_bytes;
  const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c), m2 = _mm512_set1_epi8(0x30),
                m3 = _mm512_set1_epi8(static_cast<char>(0xc0));
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  __m512 facc = _mm512_setzero_ps();
  float corr = 0.0f;
  for (int b = 0; b < g.blocks; ++b) {
    const int8_t* xb = pairs + static_cast<size_t>(b) * kTQBlock;
    const uint8_t* p = row + static_cast<size_t>(b) * g.block_bytes;
    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes), _MM_HINT_T0);
    // GCC folds this load into each of the four ands (four reads of one cached line); forcing a
    // single load into a register was measured to stream 20-40% slower on this machine.
    const __m512i v = _mm512_loadu_si512(p);
    dpbusd_inplace(a0, _mm512_and_si512(v, m0), _mm512_loadu_si512(xb));
    dpbusd_inplace(a1, _mm512_and_si512(v, m1), _mm512_loadu_si512(xb + 64));
    dpbusd_inplace(a2, _mm512_and_si512(v, m2), _mm512_loadu_si512(xb + 128));
    dpbusd_inplace(a3, _mm512_and_si512(v, m3), _mm512_loadu_si512(xb + 192));
    if (kSegmented && (b + 1) % g.blocks_per_scale == 0) {
      const float d = block_scale(W, g, r, b);
      facc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(slice_sums(a0, a1, a2, a3)), _mm512_set1_ps(d), facc);
      corr += d * static_cast<float>(xseg[b / g.blocks_per_scale]);
      a0 = a1 = a2 = a3 = _mm512_setzero_si512();
    }
  }
  if (kSegmented) {
    y[r] = (_mm512_reduce_add_ps(facc) - corr) * x_scale;
    return;
  }
  int32_t sum = _mm512_reduce_add_epi32(slice_sums(a0, a1, a2, a3));
  if (g.tail_chunk) sum += tail_chunk_sum(row + g.blocks * 64, x + static_cast<size_t>(g.blocks) * kTQBlock);
  y[r] = (W.group == kScaleTensor ? W.scales[0] : W.scales[r]) * static_cast<float>(sum - xall) * x_scale;
}

// TRIT1 rows (one scale per row or tensor). A block is two 160-weight chunks, one 64-byte load v;
// digit n of every byte is looked up in a 256-entry table with two vpermt2b (low 7 bits of the
// byte) and a blend on its top bit, giving q = t + 1 for weights 32n..32n+31 of both chunks, which
// meet x[320b+32n ..+32] and x[320b+160+32n ..+32] (pair_x_trit1). The 20 table registers stay
// loaded for the whole product. Slices past the last whole block go through slice_codes.
constexpr int kTrit1Block = 2 * kTrit1Chunk;

struct Trit1Tables {
  alignas(64) uint8_t q[5][256];  // q[n][b]: digit n of byte b, as t + 1
  Trit1Tables() {
    for (int b = 0; b < 256; ++b) {
      int8_t t[5];
      decode_trits5(static_cast<uint8_t>(b), t);
      for (int n = 0; n < 5; ++n) q[n][b] = static_cast<uint8_t>(t[n] + 1);
    }
  }
};
const Trit1Tables kTrit1Tables;

TRIT_AVX512_TARGET inline void pair_x_trit1(const int8_t* x, int blocks, int8_t* pairs) {
  for (int b = 0; b < blocks; ++b)
    for (int n = 0; n < 5; ++n) {
      std::memcpy(pairs + 320 * b + 64 * n, x + 320 * b + 32 * n, 32);
      std::memcpy(pairs + 320 * b + 64 * n + 32, x + 320 * b + kTrit1Chunk + 32 * n, 32);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2"))) void trit1_gemv_i8_rows(
    const Trit2Matrix& W, const int8_t* x, const int8_t* pairs, const int32_t* xsum32, float x_scale, float* y,
    int r0, int r1) {
  const size_t rb = trit1_row_bytes(W.cols);
  const int blocks = W.cols / kTrit1Block, nslices = (W.cols + 31) / 32;
  __m512i T[5][4];
  for (int n = 0; n < 5; ++n)
    for (int k = 0; k < 4; ++k) T[n][k] = _mm512_load_si512(kTrit1Tables.q[n] + 64 * k);
  int32_t xall = 0;
  for (int i = 0; i < nslices; ++i) xall += xsum32[i];
  for (int r = r0; r < r1; ++r) {
    const uint8_t* row = W.codes + static_cast<size_t>(r) * rb;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
    for (int b = 0; b < blocks; ++b) {
      const uint8_t* p = row + static_cast<size_t>(b) * 64;
      _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes), _MM_HINT_T0);
      const __m512i v = _mm512_loadu_si512(p);
      const __mmask64 hi = _mm512_movepi8_mask(v);
      const int8_t* xb = pairs + static_cast<size_t>(b) * 320;
#define TRIT1_DIGIT(n, acc)                                                                              \
  dpbusd_inplace(acc,                                                                                   \
                 _mm512_mask_blend_epi8(hi, _mm512_permutex2var_epi8(T[n][0], v, T[n][1]),              \
                                        _mm512_permutex2var_epi8(T[n][2], v, T[n][3])),                 \
                 _mm512_loadu_si512(xb + 64 * (n)));
      TRIT1_DIGIT(0, a0)
      TRIT1_DIGIT(1, a1)
      TRIT1_DIGIT(2, a2)
      TRIT1_DIGIT(3, a3)
      TRIT1_DIGIT(4, a4)
#undef TRIT1_DIGIT
    }
    int32_t sum = _mm512_reduce_add_epi32(
        _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)), a4));
    // The rest of the row, a slice at a time.
    __m256i t = _mm256_setzero_si256();
    for (int sl = blocks * kTrit1Block / 32; sl < nslices; ++sl)
      t = _mm256_dpbusd_epi32(t, slice_codes(W, row, sl),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * sl)));
    sum += hsum8(t);
    y[r] = (W.group == kScaleTensor ? W.scales[0] : W.scales[r]) * static_cast<float>(sum - xall) * x_scale;
  }
}

// Rows [r0, r1) of one product.
TRIT_AVX512_TARGET void block_gemv_i8_rows(const Trit2Matrix& W, const int8_t* x, const int8_t* pairs,
                                           const int32_t* xseg, int32_t xall, float x_scale, float* y, int r0, int r1) {
  const BlockGeometry g = block_geometry(W);
  if (g.blocks_per_scale > 0)
    for (int r = r0; r < r1; ++r) block_row_i8<true>(W, g, r, x, pairs, xseg, xall, x_scale, y);
  else
    for (int r = r0; r < r1; ++r) block_row_i8<false>(W, g, r, x, pairs, xseg, xall, x_scale, y);
}

// Sums of x over each scale segment of W and over the whole row.
struct XSums {
  int32_t all = 0;
  int32_t seg[kMaxBlockCols / kTQBlock];
};
inline void x_sums(const Trit2Matrix& W, const int32_t* xsum32, XSums& s) {
  const BlockGeometry g = block_geometry(W);
  const int slices = (W.cols + kTrit2Chunk - 1) / kTrit2Chunk * 4;  // x is zero-padded to whole chunks
  s.all = 0;
  for (int i = 0; i < slices; ++i) s.all += xsum32[i];
  if (g.blocks_per_scale > 0) {
    const int per = g.blocks_per_scale * kTQBlock / 32;
    for (int k = 0; k < g.blocks / g.blocks_per_scale; ++k) {
      int32_t t = 0;
      for (int i = 0; i < per; ++i) t += xsum32[k * per + i];
      s.seg[k] = t;
    }
  }
}

// Prefill (AVX-512 VNNI): Y[n, rows] = X[n, K] W^T as a register-blocked integer GEMM.
// Layouts:
//   weights: a block of kGemmRows rows is decoded once into signed bytes t in {-1,0,1}, row-major
//            [kGemmRows][K] (K = columns padded to whole chunks), and reused by every token tile;
//   tokens:  a tile of 32 tokens is stored as u8 x+128 in vpdpbusd's layout [K/4][32 tokens][4 bytes],
//            so one 64-byte load holds 4 consecutive columns of 16 tokens;
//   product: vpdpbusd(acc, tokens u8, 4 weight bytes broadcast) -> acc[row][16 tokens] int32.
// sum t*(x+128) = sum t*x + 128 * sum t, so each row's sum of t per scale segment is subtracted.
// The microkernel keeps kGemmRows x 2 accumulators (24 zmm) in registers; a k4 step is 2 loads,
// kGemmRows broadcasts and 2*kGemmRows dot products.
constexpr int kGemmRows = 12, kGemmTile = 32;

// The 24 accumulators are named locals, written to `out` [kGemmRows][32] int32 once at the end:
// as an array GCC kept them in memory (a load and a store around every dot product).
template <int NH>
TRIT_AVX512_TARGET inline void gemm_microkernel(const int8_t* w, size_t ldw, const uint8_t* xp, int k4_begin,
                                               int k4_end, int32_t* out) {
  static_assert(kGemmRows == 12 && (NH == 1 || NH == 2));
#define TRIT_ROWS(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)
#define TRIT_DECLARE(i) __m512i c##i##a = _mm512_setzero_si512(), c##i##b = _mm512_setzero_si512();
#define TRIT_ROW_STEP(i)                                 \
  {                                                      \
    int32_t w4;                                          \
    std::memcpy(&w4, wk + (i) * ldw, 4);                 \
    const __m512i wb = _mm512_set1_epi32(w4);            \
    dpbusd_inplace(c##i##a, x0, wb);                     \
    if (NH == 2) dpbusd_inplace(c##i##b, x1, wb);        \
  }
#define TRIT_STORE(i)                                                           \
  _mm512_store_si512(out + (i) * kGemmTile, c##i##a);                           \
  if (NH == 2) _mm512_store_si512(out + (i) * kGemmTile + 16, c##i##b);
  TRIT_ROWS(TRIT_DECLARE)
  const int8_t* wk = w + 4 * static_cast<size_t>(k4_begin);
  const uint8_t* xk = xp + static_cast<size_t>(k4_begin) * kGemmTile * 4;
  for (int k4 = k4_begin; k4 < k4_end; ++k4, wk += 4, xk += kGemmTile * 4) {
    const __m512i x0 = _mm512_loadu_si512(xk);
    const __m512i x1 = NH == 2 ? _mm512_loadu_si512(xk + 64) : x0;
    TRIT_ROWS(TRIT_ROW_STEP)
  }
  TRIT_ROWS(TRIT_STORE)
#undef TRIT_STORE
#undef TRIT_ROW_STEP
#undef TRIT_DECLARE
#undef TRIT_ROWS
}

// Per-thread workspace of the prefill product, grown when a larger product first needs it.
struct GemmWorkspace {
  std::vector<int8_t> w;      // [kGemmRows][K]
  std::vector<int32_t> tsum;  // [kGemmRows][segments]
};

// Decodes rows r0 .. r0+kGemmRows of W into wb [kGemmRows][K] as t in {-1,0,1} (rows past the
// matrix and columns past the last slice as 0) and sums t over each scale segment into tsum.
TRIT_AVX512_TARGET void decode_row_block(const Trit2Matrix& W, int r0, int K, int8_t* wb, int32_t* tsum) {
  const auto [rb, nslices, g_slices] = slice_geometry(W);
  const int segments = (nslices + g_slices - 1) / g_slices, nr = std::min(kGemmRows, W.rows - r0);
  for (int i = 0; i < kGemmRows; ++i) {
    int8_t* dst = wb + static_cast<size_t>(i) * K;
    if (i >= nr) {
      std::memset(dst, 0, K);
      for (int sg = 0; sg < segments; ++sg) tsum[i * segments + sg] = 0;
      continue;
    }
    const uint8_t* row = W.codes + static_cast<size_t>(r0 + i) * rb;
    for (int sg = 0; sg < segments; ++sg) {
      __m256i qs = _mm256_setzero_si256();
      const int s_end = std::min(nslices, (sg + 1) * g_slices);
      for (int s = sg * g_slices; s < s_end; ++s) {
        const __m256i q = slice_codes(W, row, s);
        qs = _mm256_add_epi64(qs, _mm256_sad_epu8(q, _mm256_setzero_si256()));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + s * 32), _mm256_sub_epi8(q, _mm256_set1_epi8(1)));
      }
      const int64_t q_total = _mm256_extract_epi64(qs, 0) + _mm256_extract_epi64(qs, 1) +
                              _mm256_extract_epi64(qs, 2) + _mm256_extract_epi64(qs, 3);
      tsum[i * segments + sg] = static_cast<int32_t>(q_total) - (s_end - sg * g_slices) * 32;
    }
    std::memset(dst + nslices * 32, 0, K - nslices * 32);
  }
}

// Products of the same n activation rows with up to kMaxProducts matrices of equal width, in one
// parallel region: the token tiles are built once, then the 12-row blocks of all the matrices are
// shared out among the threads.
constexpr int kMaxProducts = 4;
TRIT_AVX512_TARGET void gemm_i8_multi_avx512(const Trit2Matrix* const* Ws, float* const* ys, int count, int n,
                                             const int8_t* x8, int x_stride, const float* x_scale, int y_stride) {
  const int K = (Ws[0]->cols + kTrit2Chunk - 1) / kTrit2Chunk * kTrit2Chunk, K4 = K / 4;
  const int tiles = (n + kGemmTile - 1) / kGemmTile;
  int first_block[kMaxProducts + 1] = {0};
  for (int m = 0; m < count; ++m) first_block[m + 1] = first_block[m] + (Ws[m]->rows + kGemmRows - 1) / kGemmRows;
  static thread_local std::vector<uint8_t> xp_buf;  // the caller's; shared with the team below
  if (xp_buf.size() < static_cast<size_t>(tiles) * K * kGemmTile) xp_buf.resize(static_cast<size_t>(tiles) * K * kGemmTile);
  uint8_t* xp = xp_buf.data();
#pragma omp parallel
  {
    // Token tiles [K/4][32][4] of u8 x+128: 16 tokens' 4 bytes at a time by one gather; tokens past
    // n read token 0 (their outputs are never written).
#pragma omp for schedule(static)
    for (int t = 0; t < tiles; ++t)
      for (int h = 0; h < 2; ++h) {
        alignas(64) int32_t offs[16];
        for (int j = 0; j < 16; ++j) {
          const int tok = t * kGemmTile + 16 * h + j;
          offs[j] = (tok < n ? tok : 0) * x_stride;
        }
        const __m512i idx = _mm512_load_si512(offs), bias = _mm512_set1_epi8(static_cast<char>(0x80));
        uint8_t* d = xp + static_cast<size_t>(t) * K4 * kGemmTile * 4 + 64 * h;
        for (int k4 = 0; k4 < K4; ++k4)
          _mm512_storeu_si512(d + static_cast<size_t>(k4) * kGemmTile * 4,
                              _mm512_xor_si512(_mm512_i32gather_epi32(idx, x8 + 4 * k4, 1), bias));
      }
    static thread_local GemmWorkspace ws;
    const int max_segments = (K + 31) / 32;
    if (ws.w.size() < static_cast<size_t>(kGemmRows) * K) ws.w.resize(static_cast<size_t>(kGemmRows) * K);
    if (ws.tsum.size() < static_cast<size_t>(kGemmRows) * max_segments)
      ws.tsum.resize(static_cast<size_t>(kGemmRows) * max_segments);
    int8_t* wb = ws.w.data();
    int32_t* tsum = ws.tsum.data();
#pragma omp for schedule(static)
    for (int blk = 0; blk < first_block[count]; ++blk) {
      int m = 0;
      while (blk >= first_block[m + 1]) ++m;
      const Trit2Matrix& W = *Ws[m];
      float* y = ys[m];
      const auto [rb, nslices, g_slices] = slice_geometry(W);
      const int seg_cols = g_slices * 32, segments = (nslices + g_slices - 1) / g_slices;
      const int r0 = (blk - first_block[m]) * kGemmRows, nr = std::min(kGemmRows, W.rows - r0);
      decode_row_block(W, r0, K, wb, tsum);
      for (int t = 0; t < tiles; ++t) {
        const int j0 = t * kGemmTile, nj = std::min(kGemmTile, n - j0);
        const uint8_t* xt = xp + static_cast<size_t>(t) * K4 * kGemmTile * 4;
        alignas(64) float out[kGemmRows][kGemmTile] = {};
        for (int sg = 0; sg < segments; ++sg) {
          alignas(64) int32_t acc[kGemmRows * kGemmTile];
          const int k4a = sg * seg_cols / 4, k4b = std::min(K4, (sg + 1) * seg_cols / 4);
          if (nj > 16) gemm_microkernel<2>(wb, K, xt, k4a, k4b, acc);
          else gemm_microkernel<1>(wb, K, xt, k4a, k4b, acc);
          for (int i = 0; i < nr; ++i) {
            const __m512 d = _mm512_set1_ps(group_scale(W, r0 + i, sg * seg_cols));
            const __m512i corr = _mm512_set1_epi32(128 * tsum[i * segments + sg]);
            for (int h = 0; h < (nj > 16 ? 2 : 1); ++h) {
              const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(acc + i * kGemmTile + 16 * h), corr));
              _mm512_store_ps(&out[i][16 * h], _mm512_fmadd_ps(v, d, _mm512_load_ps(&out[i][16 * h])));
            }
          }
        }
        for (int j = 0; j < nj; ++j)
          for (int i = 0; i < nr; ++i)
            y[static_cast<size_t>(j0 + j) * y_stride + r0 + i] = out[i][j] * x_scale[j0 + j];
      }
    }
  }
}

}  // namespace

void trit2_gemm_i8(const Trit2Matrix& W, int n, const int8_t* x8, const int32_t* xsum32, int x_stride,
                   const float* x_scale, float* y, int y_stride, SimdLevel level) {
  const Trit2Matrix* Ws[1] = {&W};
  float* ys[1] = {y};
  trit2_gemm_i8_multi(Ws, ys, 1, n, x8, xsum32, x_stride, x_scale, y_stride, level);
}

void trit2_gemm_i8_multi(const Trit2Matrix* const* Ws, float* const* ys, int count, int n, const int8_t* x8,
                         const int32_t* xsum32, int x_stride, const float* x_scale, int y_stride, SimdLevel level) {
  bool same_width = count <= kMaxProducts;
  for (int m = 1; m < count && same_width; ++m) same_width = Ws[m]->cols == Ws[0]->cols;
  if (level == SimdLevel::AVX512 && n > 1 && same_width)
    return gemm_i8_multi_avx512(Ws, ys, count, n, x8, x_stride, x_scale, y_stride);
  // One row at a time (one row, or below AVX-512).
  for (int m = 0; m < count; ++m)
    for (int j = 0; j < n; ++j)
      trit2_gemv_i8(*Ws[m], x8 + static_cast<size_t>(j) * x_stride, xsum32 + static_cast<size_t>(j) * (x_stride / 32),
                    x_scale[j], ys[m] + static_cast<size_t>(j) * y_stride, level);
}

void trit2_gemv_i8(const Trit2Matrix& W, const int8_t* x8, const int32_t* xsum32, float x_scale, float* y,
                   SimdLevel level) {
  const Trit2Matrix* Ws[1] = {&W};
  float* ys[1] = {y};
  if (level == SimdLevel::AVX512 && block_path_applies(W)) return trit2_gemv_i8_multi(Ws, ys, 1, x8, xsum32, x_scale, level);
  if (level == SimdLevel::AVX512) return gemv_i8_avx512(W, x8, xsum32, x_scale, y);
  if (level == SimdLevel::AVX2) return gemv_i8_avx2(W, x8, xsum32, x_scale, y);
  gemv_i8_scalar(W, x8, x_scale, y);
}

void trit2_gemv_i8_multi(const Trit2Matrix* const* Ws, float* const* ys, int count, const int8_t* x8,
                         const int32_t* xsum32, float x_scale, SimdLevel level, Share share) {
  bool fast = level == SimdLevel::AVX512 && count <= kMaxProducts;
  for (int m = 0; m < count && fast; ++m) fast = block_path_applies(*Ws[m]);
  if (!fast) {
    if (share.index == 0)  // inside a caller's region the other threads only wait
      for (int m = 0; m < count; ++m) trit2_gemv_i8(*Ws[m], x8, xsum32, x_scale, ys[m], level);
    return;
  }
  // Tiles of 4 rows, numbered across the matrices; thread id of nt takes an even stretch of them.
  XSums sums[kMaxProducts];
  int first_tile[kMaxProducts + 1] = {0};
  for (int m = 0; m < count; ++m) {
    if (!Ws[m]->trit1) x_sums(*Ws[m], xsum32, sums[m]);  // TRIT1 rows sum x themselves
    first_tile[m + 1] = first_tile[m] + (Ws[m]->rows + 3) / 4;
  }
  const int tiles = first_tile[count];
  // The activations paired for the matrices' layout (trit2/TQ2_0 blocks of 256, TRIT1 of 320).
  const bool trit1 = Ws[0]->trit1;
  for (int m = 1; m < count; ++m)
    if (Ws[m]->trit1 != trit1) {
      for (int k = 0; k < count; ++k)
        if (share.index == 0) trit2_gemv_i8(*Ws[k], x8, xsum32, x_scale, ys[k], level);
      return;
    }
  int pair_bytes = 0;
  for (int m = 0; m < count; ++m)
    pair_bytes = std::max(pair_bytes, trit1 ? Ws[m]->cols / kTrit1Block * 320 : block_geometry(*Ws[m]).blocks * kTQBlock);
  auto run = [&](int id, int nt) {
    // Each thread pairs x for itself (a few KB, read from its own cache); grown once, then reused.
    static thread_local std::vector<int8_t> pairs;
    if (pairs.size() < static_cast<size_t>(pair_bytes)) pairs.resize(pair_bytes);
    if (trit1) pair_x_trit1(x8, pair_bytes / 320, pairs.data());
    else pair_x(x8, pair_bytes / kTQBlock, pairs.data());
    const int t0 = static_cast<int>(static_cast<int64_t>(tiles) * id / nt);
    const int t1 = static_cast<int>(static_cast<int64_t>(tiles) * (id + 1) / nt);
    for (int m = 0; m < count; ++m) {
      const int a = std::max(t0, first_tile[m]), b = std::min(t1, first_tile[m + 1]);
      if (a >= b) continue;
      const Trit2Matrix& W = *Ws[m];
      const int ra = (a - first_tile[m]) * 4, rz = std::min(W.rows, (b - first_tile[m]) * 4);
      if (trit1) trit1_gemv_i8_rows(W, x8, pairs.data(), xsum32, x_scale, ys[m], ra, rz);
      else block_gemv_i8_rows(W, x8, pairs.data(), sums[m].seg, sums[m].all, x_scale, ys[m], ra, rz);
    }
  };
  if (share.count > 0) return run(share.index, share.count);
#pragma omp parallel
  run(omp_get_thread_num(), omp_get_num_threads());
}

bool trit2_gemv_shares_rows(const Trit2Matrix& W, SimdLevel level) {
  return level == SimdLevel::AVX512 && block_path_applies(W);
}

void trit2_gemv_f32(const Trit2Matrix& W, const float* x, float* y, SimdLevel level) {
  if (level != SimdLevel::Scalar) return gemv_f32_avx2(W, x, y);
  gemv_f32_scalar(W, x, y);
}

}  // namespace trit
