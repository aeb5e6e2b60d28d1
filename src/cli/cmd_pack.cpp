// trit pack CHECKPOINT -o model.gguf: a training checkpoint -> a GGUF model file.
#include <cstdio>
#include <cstring>
#include <memory>

#include "cli/args.h"
#include "core/error.h"
#include "core/file.h"
#include "io/model_file.h"
#include "io/tokenizer.h"
#include "kernels/quant.h"
#include "train/checkpoint.h"

namespace trit::cli {

int cmd_pack(int argc, char** argv) {
  Args a("trit pack", "Pack a training checkpoint into a GGUF model: ternary weights losslessly as 2-bit (trit2),\n"
                      "1.6-bit (trit1) or llama.cpp's TQ2_0/TQ1_0; or the unpacked model in bf16/f16/f32.",
         {{"", "CHECKPOINT", "a .trit checkpoint from `trit train`"},
          {"output", "FILE", "the .gguf file to write", "o"},
          {"type", "T", "linear weights: trit2 (default), trit1, tq2_0, tq1_0, bf16, f16, f32"},
          {"embd-type", "T", "embeddings and head: f16 (default), f32, bf16, int8 (per-row scale)"},
          {"round-scales", "", "TQ types: allow rounding scales to fp16 (otherwise refused unless exact)"}});
  if (!a.parse(argc, argv)) return 0;
  TRIT_CHECK(a.positional().size() == 1, "trit pack: give one CHECKPOINT (see trit pack --help)");
  TRIT_CHECK(a.has("output"), "trit pack: -o FILE is required");
  const std::string in = a.positional()[0], out = a.str("output");
  TRIT_CHECK(!is_directory(out), "trit pack: output '%s' is a directory", out.c_str());
  PackOptions opt;
  opt.weight_type = parse_weight_type(a.str("type", "trit2"));
  opt.embd_type = parse_embd_type(a.str("embd-type", "f16"));
  opt.round_scales_fp16 = a.flag("round-scales");

  Checkpoint ck = load_checkpoint(in, false);
  const Config& c = ck.config;
  const std::vector<float>& P = ck.params;
  WeightSource src;
  src.ternary = [&](const TensorInfo& t, int8_t* codes, float* scales) {
    std::vector<float> wq(t.size());
    TRIT_CHECK(ternary_quantize(P.data() + t.offset, t.rows, t.cols, c.group_size, wq.data(), scales, codes),
               "checkpoint '%s': non-finite weights in %s", in.c_str(), t.name.c_str());
  };
  src.dense = [&](const TensorInfo& t, float* v) {
    if (t.kind == TensorKind::BitLinear && c.ternary()) {
      std::vector<float> scales(ternary_scale_count(t.rows, t.cols, c.group_size));
      TRIT_CHECK(ternary_quantize(P.data() + t.offset, t.rows, t.cols, c.group_size, v, scales.data(), nullptr),
                 "checkpoint '%s': non-finite weights in %s", in.c_str(), t.name.c_str());
    } else {
      std::memcpy(v, P.data() + t.offset, t.size() * sizeof(float));
    }
  };
  std::unique_ptr<Tokenizer> tok;
  if (!ck.tokenizer.empty()) tok = std::make_unique<Tokenizer>(Tokenizer::from_bytes(ck.tokenizer, "checkpoint '" + in + "'"));
  write_model_gguf(out, c, src, tok.get(), opt);
  std::fprintf(stderr, "packed %s -> %s\n", in.c_str(), out.c_str());
  return 0;
}

}  // namespace trit::cli
