#include "kernels/gemm.h"

#include <cblas.h>

namespace trit {

void matmul_nt(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, accumulate ? 1.0f : 0.0f, C, N);
}

void matmul_nn(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, accumulate ? 1.0f : 0.0f, C,
              N);
}

void matmul_tn(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, accumulate ? 1.0f : 0.0f, C, N);
}

void matmul_nt_ref(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0.0;
      for (int k = 0; k < K; ++k) s += static_cast<double>(A[i * K + k]) * B[j * K + k];
      C[i * N + j] = static_cast<float>(s) + (accumulate ? C[i * N + j] : 0.0f);
    }
}

void matmul_nn_ref(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0.0;
      for (int k = 0; k < K; ++k) s += static_cast<double>(A[i * K + k]) * B[k * N + j];
      C[i * N + j] = static_cast<float>(s) + (accumulate ? C[i * N + j] : 0.0f);
    }
}

void matmul_tn_ref(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0.0;
      for (int k = 0; k < K; ++k) s += static_cast<double>(A[k * M + i]) * B[k * N + j];
      C[i * N + j] = static_cast<float>(s) + (accumulate ? C[i * N + j] : 0.0f);
    }
}

}  // namespace trit
