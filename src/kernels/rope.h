// Rotary position embedding, Hugging Face LLaMA convention ("rotate_half"): within each head of
// size hd, element i (< hd/2) is paired with element i + hd/2.
//   y_i = x_i cos - x_{i+hd/2} sin ;  y_{i+hd/2} = x_{i+hd/2} cos + x_i sin
// with angle = pos * theta^(-2i/hd). Layout: rows of `row_stride` floats, one row per token; the
// heads to rotate start at column `col0` and are contiguous: n_heads * hd floats.
#pragma once
#include <vector>

namespace trit {

struct RopeTable {
  int hd = 0, max_pos = 0;
  std::vector<float> cos, sin;  // [max_pos, hd/2]
  void init(int head_dim, int max_positions, float theta);
};

// Token n of the batch sits at position n % T.
void rope_forward(float* x, int N, int T, int row_stride, int col0, int n_heads, const RopeTable& rt);
// The inverse rotation, applied to gradients in place.
void rope_backward(float* dx, int N, int T, int row_stride, int col0, int n_heads, const RopeTable& rt);

}  // namespace trit
