// trit generate -m CHECKPOINT -p PROMPT -n N: text from a training checkpoint, streamed token by
// token. (The packed-model engine of GGUF files comes with `trit pack`; checkpoints run through the
// training forward pass, recomputing the window for every token.)
#include <algorithm>
#include <cstdio>

#include "cli/args.h"
#include "cli/engine_args.h"
#include "cli/sampling_args.h"
#include "core/error.h"
#include "core/threads.h"
#include "infer/sampler.h"
#include "io/tokenizer.h"
#include "core/file.h"
#include "infer/engine.h"
#include "io/model_loader.h"
#include "train/checkpoint.h"
#include "train/model.h"

namespace trit::cli {

int cmd_generate(int argc, char** argv) {
  std::vector<OptionSpec> specs = {{"model", "FILE", "model .gguf or checkpoint .trit", "m"},
                                   {"prompt", "TEXT", "prompt", "p"},
                                   {"n", "N", "tokens to generate (default 128)", "n"},
                                   {"stop", "STR...", "stop when the text ends with one of these"},
                                   {"threads", "N", "threads", "t"},
                                   kv_type_option_spec()};
  for (auto& o : sampler_option_specs(0.8f)) specs.push_back(o);
  Args a("trit generate", "Generate text from a GGUF model (trit pack) or a training checkpoint.", specs);
  if (!a.parse(argc, argv)) return 0;
  TRIT_CHECK(a.has("model"), "trit generate: -m CHECKPOINT is required");
  set_threads(static_cast<int>(a.integer("threads", 0)));
  const std::string path = a.str("model");
  // A GGUF model runs on the engine (KV cache, packed weights); a checkpoint through the training
  // forward pass, recomputing the window for every token.
  const bool gguf = read_file_prefix(path, 4) == "GGUF";
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokp;
  Config cfg;
  int ctx;
  if (gguf) {
    LoadedModel lm = load_model_gguf(path);
    TRIT_CHECK(!lm.tokenizer_spm.empty(), "%s", lm.tokenizer_missing.c_str());
    tokp = std::make_unique<Tokenizer>(Tokenizer::from_bytes(lm.tokenizer_spm, "model '" + path + "'"));
    cfg = lm.weights.config;
    ctx = std::min(cfg.max_position_embeddings, 4096);
    engine = std::make_unique<Engine>(std::move(lm.weights), ctx, 256, kv_type_from_args(a, "trit generate"));
  } else {
    Checkpoint ck = load_checkpoint(path, false);
    tokp = std::make_unique<Tokenizer>(Tokenizer::from_bytes(ck.tokenizer, "checkpoint '" + path + "'"));
    cfg = ck.config;
    ctx = std::min(cfg.max_position_embeddings, 1024);
    model = std::make_unique<Model>(ck.config, 1, ctx);
    model->params = std::move(ck.params);
    model->quantize_weights(ck.state.value("step", 0L));
  }
  const Tokenizer& tok = *tokp;
  int engine_pos = 0;  // tokens already in the engine's cache
  std::vector<int32_t> window;
  auto next_logits = [&](const std::vector<uint32_t>& ids) -> const float* {
    if (engine) {
      TRIT_CHECK(ids.size() <= static_cast<size_t>(ctx), "the context of %d tokens is full", ctx);
      // The prompt goes in one batch; afterwards one token per call, with nothing allocated.
      const float* l = nullptr;
      if (ids.size() - engine_pos == 1) {
        l = engine->eval(static_cast<int32_t>(ids.back()), engine_pos);
      } else {
        window.assign(ids.begin() + engine_pos, ids.end());
        l = engine->eval_batch(window.data(), static_cast<int>(window.size()), engine_pos);
      }
      engine_pos = static_cast<int>(ids.size());
      return l;
    }
    const size_t start = ids.size() > static_cast<size_t>(ctx) ? ids.size() - ctx : 0;
    window.assign(ids.begin() + start, ids.end());
    const int T = static_cast<int>(window.size());
    model->forward(window.data(), nullptr, 1, T);
    return model->logits() + static_cast<size_t>(T - 1) * cfg.vocab_size;
  };

  Sampler sampler(sampler_params_from_args(a, "trit generate", 0.8f));
  const long n = a.integer("n", 128);
  TRIT_CHECK(n >= 0, "trit generate: -n must not be negative");
  const auto stops = a.list("stop");

  const std::string prompt = a.str("prompt", "");
  std::vector<uint32_t> ids;
  if (tok.bos_id() >= 0) ids.push_back(static_cast<uint32_t>(tok.bos_id()));
  const auto p = tok.encode(prompt);
  ids.insert(ids.end(), p.begin(), p.end());
  // The text shown is decode(prompt + generated) past decode(prompt): decoding the generated ids
  // alone would drop the space a leading "▁" piece stands for.
  const size_t text_from = tok.bos_id() >= 0 ? 1 : 0;
  std::printf("%s", prompt.c_str());
  std::fflush(stdout);
  std::string shown = tok.decode(std::vector<uint32_t>(ids.begin() + text_from, ids.end()));
  for (long i = 0; i < n; ++i) {
    if (engine && ids.size() >= static_cast<size_t>(ctx)) break;
    const uint32_t next = sampler.sample(next_logits(ids), cfg.vocab_size, ids);
    if (static_cast<int>(next) == tok.eos_id()) break;
    ids.push_back(next);
    const std::string text = tok.decode(std::vector<uint32_t>(ids.begin() + text_from, ids.end()));
    // Print only complete UTF-8 (a multi-byte character may span byte-fallback tokens).
    size_t complete = text.size();
    while (complete > 0 && (static_cast<unsigned char>(text[complete - 1]) & 0xC0) == 0x80) --complete;
    if (complete > 0 && static_cast<unsigned char>(text[complete - 1]) >= 0xC0) --complete;
    if (complete > shown.size() && text.compare(0, shown.size(), shown) == 0) {
      std::printf("%s", text.substr(shown.size(), complete - shown.size()).c_str());
      std::fflush(stdout);
      shown = text.substr(0, complete);
    }
    bool stop = false;
    for (const auto& s : stops)
      if (text.size() >= s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0) stop = true;
    if (stop) break;
  }
  std::printf("\n");
  return 0;
}

}  // namespace trit::cli
