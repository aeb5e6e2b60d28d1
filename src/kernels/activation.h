// Gated FFN activations. gu [N, 2F]: gate in columns [0, F), up in [F, 2F) (the fused gate/up
// projection's output). h [N, F] = act(gate) * up with
//   silu:  act(g) = g * sigmoid(g)      (SwiGLU, LLaMA/MiniCPM)
//   relu2: act(g) = max(g, 0)^2         (BitNet b1.58 2B4T)
#pragma once

namespace trit {

enum class Activation { SiLU, ReLU2 };

void glu_forward(const float* gu, float* h, int N, int F, Activation act);
// dgu [N, 2F] is overwritten.
void glu_backward(const float* dh, const float* gu, float* dgu, int N, int F, Activation act);

// One row for inference: h[i] = act(g[i]) * u[i], i < F. SiLU's exp runs 16 lanes at a time
// through glibc's libmvec (_ZGVeN16v_expf, within 4 ulp of expf) where the CPU has AVX-512; the
// rest of the row, and other CPUs, use std::exp.
void glu_row(const float* g, const float* u, float* h, int F, Activation act);

// Softmax numerators in place: x[i] = exp(x[i] - mx) for i < n; returns their sum. Vectorized the
// same way as glu_row.
float exp_shifted_sum(float* x, int n, float mx);

}  // namespace trit
