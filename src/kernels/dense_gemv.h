// y = W x for a dense row-major W [rows, cols] stored as F32, F16, BF16, or I8 with one fp32 scale
// per row; x fp32. AVX-512 and AVX2 (fp16/bf16/int8 widened in registers) and a scalar reference.
// Also: one row of such a matrix as fp32 (embedding lookup).
#pragma once
#include <cstdint>

#include "kernels/ternary_gemv.h"

namespace trit {

enum class DenseType { F32, F16, BF16, I8 };

struct DenseMatrix {
  DenseType type;
  const uint8_t* data;
  const float* row_scales;  // I8 only
  int rows, cols;
};

// share (core/threads.h): only that share of the rows, inside the caller's parallel region.
void dense_gemv(const DenseMatrix& W, const float* x, float* y, SimdLevel level, Share share = {});
void dense_row(const DenseMatrix& W, int row, float* out);

// An I8 matrix times an int8 vector (per-token absmax, quantize_row_i8 in ternary_gemv.h):
//   y[r] = row_scales[r] * x_scale * sum_c w[r,c] x8[c].
// AVX-512 VNNI computes sum (x8+128) w - 128 * row_sums[r] with vpdpbusd (x+128 is the unsigned
// operand), so row_sums[r] = sum_c w[r,c] must be supplied (dense_row_sums). x8 is read for W.cols
// entries. The I8 head of a model costs one byte per weight and one dot product per 64 of them.
void dense_row_sums(const DenseMatrix& W, int32_t* row_sums);
void dense_gemv_i8(const DenseMatrix& W, const int8_t* x8, float x_scale, const int32_t* row_sums, float* y,
                   SimdLevel level, Share share = {});

}  // namespace trit
