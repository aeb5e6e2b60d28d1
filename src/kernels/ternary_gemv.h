// Products of trit2-packed ternary weights (layout in ternary_pack.h) with one activation vector:
//   y[r] = sum over scale groups G of row r: scale(G) * sum_{c in G} t[r,c] * x[c]
// Scales: group == kScaleTensor (scales[0]), kScaleRow (scales[r]), or g > 0 (scales[r*cols/g + c/g]).
//
// W1.58A8: x is int8 (per-token absmax, see quant.h) and the sums are exact integers, scaled once:
//   y[r] = x_scale * sum_G scale(G) * S_G. The integer kernels use q = t + 1 in {0,1,2} as the
//   unsigned operand of u8 x s8 dot products (AVX-512 VNNI vpdpbusd, AVX2 vpmaddubsw) and subtract
//   sum(x) per group: sum t*x = sum q*x - sum x.
// Weight-only: x is fp32 and the codes are widened to floats.
// Each has a scalar reference; the SIMD version is picked once from the CPU's features.
#pragma once
#include <cstdint>

#include "core/threads.h"

namespace trit {

enum class SimdLevel { Scalar, AVX2, AVX512 };

SimdLevel detect_simd();     // the CPU's best level, capped by $TRIT_SIMD
SimdLevel detect_simd_hw();  // the CPU's best level
const char* simd_name(SimdLevel s);

// Also llama.cpp's TQ2_0 (tq2_0 = true): a 256-weight block is two trit2 chunks (64 bytes) followed
// by its fp16 scale, 66 bytes in all; scales and group are then unused (one scale per 256 inline).
// And trit1 (trit1 = true): chunks of 160 weights in 32 bytes, 5 base-3 digits per byte; slice n of a
// chunk is digit n of its 32 bytes. Every layout covers weights 32s..32s+31 with slice s.
struct Trit2Matrix {
  const uint8_t* codes;   // rows * trit2_row_bytes(cols), tq2_0_row_bytes(cols) or trit1_row_bytes(cols)
  const float* scales;
  int rows, cols, group;
  bool tq2_0 = false;
  bool trit1 = false;
  bool tq1_0 = false;  // llama.cpp's TQ1_0: 54-byte blocks of 256 (ternary_pack.h), inline fp16 scale
};

// x8: int8 activations padded with zeros to a multiple of 128; xsum32[i] = sum of x8[32i .. 32i+31].
void trit2_gemv_i8(const Trit2Matrix& W, const int8_t* x8, const int32_t* xsum32, float x_scale, float* y,
                   SimdLevel level);
// Several products of the same input at once (q, k, v; gate, up): one parallel region for all.
// With share.count > 0 only this share of the rows is computed, where trit2_gemv_shares_rows holds
// for every matrix (the AVX-512 block path); elsewhere share 0 computes everything.
void trit2_gemv_i8_multi(const Trit2Matrix* const* Ws, float* const* ys, int count, const int8_t* x8,
                         const int32_t* xsum32, float x_scale, SimdLevel level, Share share = {});
bool trit2_gemv_shares_rows(const Trit2Matrix& W, SimdLevel level);
// Widest row the AVX-512 decode path takes (wider rows use the slice kernels).
constexpr int kMaxBlockCols = 1 << 18;
// A batch of n activation rows at once (prefill): row j of x8 starts at x8 + j*x_stride, of xsum32 at
// xsum32 + j*x_stride/32; row j of y at y + j*y_stride. Each weight chunk is decoded once for up to 8
// rows.
void trit2_gemm_i8(const Trit2Matrix& W, int n, const int8_t* x8, const int32_t* xsum32, int x_stride,
                   const float* x_scale, float* y, int y_stride, SimdLevel level);
// The batched product of the same rows with several matrices of equal width (q, k, v; gate, up).
void trit2_gemm_i8_multi(const Trit2Matrix* const* Ws, float* const* ys, int count, int n, const int8_t* x8,
                         const int32_t* xsum32, int x_stride, const float* x_scale, int y_stride, SimdLevel level);
// x: fp32 activations padded with zeros to a multiple of 128.
void trit2_gemv_f32(const Trit2Matrix& W, const float* x, float* y, SimdLevel level);

// Per-token int8 quantization for the products above; returns the scale 1/s (x ~= x8 / s).
// x8 and xsum32 are padded to `padded_cols` (a multiple of 128).
float quantize_row_i8(const float* x, int cols, int padded_cols, int8_t* x8, int32_t* xsum32);
float quantize_row_i8_ref(const float* x, int cols, int padded_cols, int8_t* x8, int32_t* xsum32);  // scalar

}  // namespace trit
