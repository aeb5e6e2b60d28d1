// RMSNorm over rows: x [N, C] -> y [N, C]; rstd [N] is saved for the backward pass.
//   y = x * rstd * w,  rstd = 1 / sqrt(mean(x^2) + eps)
#pragma once

namespace trit {

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int N, int C, float eps);
// dx += d(loss)/dx ; dw += d(loss)/dw. Every row is independent; dw is reduced over rows in a fixed
// order (columns split across threads), so the result does not depend on the thread count.
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int N, int C);

}  // namespace trit
