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

}  // namespace trit
