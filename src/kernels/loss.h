// Softmax cross-entropy over rows of logits [N, V] with integer targets [N].
#pragma once
#include <cstdint>

namespace trit {

// losses[n] = -log softmax(logits[n])[target[n]]. If `dlogits` is non-null it receives
// (softmax - onehot) * grad_scale (it may alias logits).
void cross_entropy_forward_backward(float* logits, const int32_t* targets, float* losses, float* dlogits, int N,
                                    int V, float grad_scale);

}  // namespace trit
