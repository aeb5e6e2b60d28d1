// Quantizers of BitLinear (see ../shared reference, section 1).
//
// Weights, absmean ternary. W is [rows, cols] row-major (PyTorch's [out, in]). A scale group is
//   group == kScaleTensor : the whole tensor          -> 1 scale
//   group == kScaleRow    : one output row            -> rows scales
//   group  > 0            : `group` consecutive input elements of one row -> rows * cols/group scales
//                           (scale index = r * (cols/group) + c/group)
// gamma = max(mean|W_G|, 1e-5); Wt = clamp(round(W/gamma), -1, 1); Wq = Wt * gamma.
// round() is round-half-to-even, like torch.round.
//
// Activations, W1.58A8: per row (token) absmax to int8:
//   s = 127 / max(max|x|, 1e-5); xq = clamp(round(x*s), -128, 127); xhat = xq / s.
#pragma once
#include <cstddef>
#include <cstdint>

namespace trit {

constexpr int kScaleTensor = 0;
constexpr int kScaleRow = -1;
constexpr float kWeightScaleEps = 1e-5f;
constexpr float kActScaleEps = 1e-5f;

size_t ternary_scale_count(int rows, int cols, int group);

// Fills Wq (dequantized ternary weights, same layout as W), scales, and codes (nullable; int8 in
// {-1,0,1}). Returns false, leaving outputs unspecified, if W holds a NaN or an infinity.
bool ternary_quantize(const float* W, int rows, int cols, int group, float* Wq, float* scales, int8_t* codes);
// Scalar reference (single thread, straightforward loops) for tests of the parallel version.
bool ternary_quantize_ref(const float* W, int rows, int cols, int group, float* Wq, float* scales, int8_t* codes);

// x [rows, cols] -> xhat [rows, cols] (dequantized), inv_scale[r] = 1/s (nullable), q (nullable).
// Returns false if x holds a NaN or an infinity.
bool act_quantize_int8(const float* x, int rows, int cols, float* xhat, float* inv_scale, int8_t* q);

// True if every element is finite. Cheap scan used where no quantizer runs.
bool all_finite(const float* x, size_t n);

}  // namespace trit
