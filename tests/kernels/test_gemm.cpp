#include <gtest/gtest.h>

#include "kernels/gemm.h"
#include "test_util.h"

using namespace trit;

TEST(Gemm, AllVariantsMatchScalarReference) {
  const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {33, 17, 65}, {64, 96, 128}};
  for (auto [M, N, K] : shapes)
    for (bool acc : {false, true}) {
      auto A = test::random_vec(static_cast<size_t>(M) * K, 1), Bm = test::random_vec(static_cast<size_t>(N) * K, 2);
      auto C0 = test::random_vec(static_cast<size_t>(M) * N, 3);
      auto C1 = C0, C2 = C0;
      matmul_nt(A.data(), Bm.data(), C1.data(), M, N, K, acc);
      matmul_nt_ref(A.data(), Bm.data(), C2.data(), M, N, K, acc);
      EXPECT_LE(test::rel_max_error(C1.data(), C2.data(), C1.size()), 1e-5);
      C1 = C2 = C0;
      matmul_nn(A.data(), Bm.data(), C1.data(), M, N, K, acc);  // B read as [K, N]
      matmul_nn_ref(A.data(), Bm.data(), C2.data(), M, N, K, acc);
      EXPECT_LE(test::rel_max_error(C1.data(), C2.data(), C1.size()), 1e-5);
      auto At = test::random_vec(static_cast<size_t>(K) * M, 4);
      C1 = C2 = C0;
      matmul_tn(At.data(), Bm.data(), C1.data(), M, N, K, acc);
      matmul_tn_ref(At.data(), Bm.data(), C2.data(), M, N, K, acc);
      EXPECT_LE(test::rel_max_error(C1.data(), C2.data(), C1.size()), 1e-5);
    }
}
