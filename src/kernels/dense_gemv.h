// y = W x for a dense row-major W [rows, cols] stored as F32, F16, BF16, or I8 with one fp32 scale
// per row; x fp32. AVX-512 (fp16/bf16 widened in registers) and a scalar reference.
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

void dense_gemv(const DenseMatrix& W, const float* x, float* y, SimdLevel level);
void dense_row(const DenseMatrix& W, int row, float* out);

}  // namespace trit
