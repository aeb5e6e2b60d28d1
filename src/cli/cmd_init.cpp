// trit init --preset NAME --random -o model.gguf: a random-weight model of any shape, for speed and
// memory measurements at real sizes without training.
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli/args.h"
#include "cli/model_args.h"
#include "core/error.h"
#include "core/file.h"
#include "core/half.h"
#include "core/rng.h"
#include "io/model_file.h"
#include "io/tokenizer.h"
#include "kernels/quant.h"

namespace trit::cli {

int cmd_init(int argc, char** argv) {
  std::vector<OptionSpec> specs = model_option_specs();
  specs.push_back({"random", "", "random weights (the only initialisation offered)"});
  specs.push_back({"output", "FILE", "the .gguf file to write", "o"});
  specs.push_back({"type", "T", "linear weights: trit2 (default), trit1, tq2_0, tq1_0, bf16, f16, f32"});
  specs.push_back({"embd-type", "T", "embeddings and head: f16 (default), f32, bf16, int8"});
  specs.push_back({"tokenizer", "FILE", "SentencePiece model to embed (optional)"});
  specs.push_back({"seed", "S", "random seed (default 1)"});
  Args a("trit init", "Write a random-weight ternary model of any shape (ternary codes uniform over {-1,0,1},\n"
                      "fp16-exact scales, so every packing type is lossless).", specs);
  if (!a.parse(argc, argv)) return 0;
  TRIT_CHECK(a.flag("random"), "trit init: --random is required (random weights are the only initialisation)");
  TRIT_CHECK(a.has("output"), "trit init: -o FILE is required");
  const Config c = model_config_from_args(a, "trit init");
  PackOptions opt;
  opt.weight_type = parse_weight_type(a.str("type", "trit2"));
  opt.embd_type = parse_embd_type(a.str("embd-type", "f16"));
  const uint64_t seed = static_cast<uint64_t>(a.integer("seed", 1));
  std::unique_ptr<Tokenizer> tok;
  if (a.has("tokenizer")) tok = std::make_unique<Tokenizer>(Tokenizer::from_file(a.str("tokenizer")));

  // Each tensor draws from its own stream (seeded by its offset), so the order of writing does not
  // matter and the same seed gives the same model.
  WeightSource src;
  src.ternary = [&](const TensorInfo& t, int8_t* codes, float* scales) {
    Rng r(seed * 1000003 + t.offset);
    for (size_t i = 0; i < t.size(); ++i) codes[i] = static_cast<int8_t>(static_cast<int>(r.below(3)) - 1);
    const size_t ns = ternary_scale_count(t.rows, t.cols, c.group_size);
    for (size_t i = 0; i < ns; ++i) scales[i] = f16_to_f32(f32_to_f16(static_cast<float>(0.01 + 0.02 * r.uniform())));
  };
  src.dense = [&](const TensorInfo& t, float* v) {
    if (t.kind == TensorKind::Norm) {
      std::fill(v, v + t.size(), 1.0f);
    } else if (t.kind == TensorKind::BitLinear) {
      std::vector<int8_t> codes(t.size());
      std::vector<float> scales(ternary_scale_count(t.rows, t.cols, c.group_size));
      src.ternary(t, codes.data(), scales.data());
      const int g = c.group_size == kScaleTensor ? t.rows * t.cols : c.group_size == kScaleRow ? t.cols : c.group_size;
      for (size_t i = 0; i < t.size(); ++i) v[i] = codes[i] * scales[i / g];
    } else {
      Rng r(seed * 1000003 + t.offset);
      for (size_t i = 0; i < t.size(); ++i) v[i] = static_cast<float>(r.normal() * 0.02);
    }
  };
  const std::string out = a.str("output");
  TRIT_CHECK(!is_directory(out), "trit init: output '%s' is a directory", out.c_str());
  write_model_gguf(out, c, src, tok.get(), opt);
  std::fprintf(stderr, "wrote random model to %s\n", out.c_str());
  return 0;
}

}  // namespace trit::cli
