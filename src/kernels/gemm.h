// fp32 matrix products used by training, all row-major, through OpenBLAS (cblas_sgemm), with
// scalar references for tests. `accumulate` adds into C instead of overwriting it.
//   matmul_nt: C[M,N] = A[M,K] . B[N,K]^T      (y = x W^T, W stored [out, in])
//   matmul_nn: C[M,N] = A[M,K] . B[K,N]        (dX = dY W)
//   matmul_tn: C[M,N] = A[K,M]^T . B[K,N]      (dW = dY^T X)
#pragma once

namespace trit {

void matmul_nt(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate);
void matmul_nn(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate);
void matmul_tn(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate);

void matmul_nt_ref(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate);
void matmul_nn_ref(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate);
void matmul_tn_ref(const float* A, const float* B, float* C, int M, int N, int K, bool accumulate);

}  // namespace trit
