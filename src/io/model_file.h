// Model files: a trained checkpoint (or random weights) -> GGUF, and a description of what is in a
// GGUF model (`trit info`).
//
// Tensor names follow llama.cpp (token_embd, blk.N.attn_q, ..., output_norm, output). Q and K rows
// are permuted from Hugging Face's rotate_half order to llama.cpp's adjacent-pair RoPE order, as
// llama.cpp's converter does: row h*hd + 2i + t <- row h*hd + t*hd/2 + i (t = 0, 1).
// A plain LLaMA-shaped model (SwiGLU, no SubLN) with TQ2_0/TQ1_0/F32/F16/BF16 linear weights and
// F32/F16/BF16 embeddings is written as architecture "llama"; anything else as "trit" (same keys
// under "trit.", plus trit's own tensor types and scales).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "io/gguf.h"
#include "model/config.h"
#include "model/layout.h"

namespace trit {

class Tokenizer;

struct PackOptions {
  TensorType weight_type = TensorType::TRIT2;  // BitLinear weights: TRIT2, TRIT1, TQ2_0, TQ1_0, BF16, F16, F32
  TensorType embd_type = TensorType::F16;      // embeddings and head: F32, F16, BF16, I8 (+ per-row scale)
  bool round_scales_fp16 = false;              // TQ types: accept rounding scales to fp16
};

TensorType parse_weight_type(const std::string& s);  // trit2 trit1 tq2_0 tq1_0 bf16 f16 f32
TensorType parse_embd_type(const std::string& s);    // f32 f16 bf16 int8

// Where the weights come from. ternary(): codes [rows, cols] in {-1,0,1} and the scales of the
// config's group size (layout of kernels/quant.h) for a BitLinear tensor; dense(): fp32 values of
// any tensor (for BitLinear: the weights the model computes with).
struct WeightSource {
  std::function<void(const TensorInfo&, int8_t* codes, float* scales)> ternary;
  std::function<void(const TensorInfo&, float* values)> dense;
};

// Writes the model; throws trit::Error naming the tensor and the reason when a requested type
// cannot hold the weights losslessly (e.g. TQ2_0 with per-32 scales).
void write_model_gguf(const std::string& path, const Config& c, const WeightSource& src, const Tokenizer* tok,
                      const PackOptions& opt);

std::string gguf_tensor_name(const std::string& hf_name);

}  // namespace trit
