// trit chat -m model.gguf: an interactive chat on the engine. Each turn is appended to one
// conversation (the KV cache keeps it), formatted with a plain-text template:
//   [system]\n\nUser: {message}\nAssistant: {reply}\n
// The reply stops at the end-of-text token, at "\nUser:", or at -n tokens.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/args.h"
#include "cli/engine_args.h"
#include "cli/sampling_args.h"
#include "core/error.h"
#include "core/threads.h"
#include "infer/engine.h"
#include "infer/sampler.h"
#include "io/model_loader.h"
#include "io/tokenizer.h"

namespace trit::cli {

int cmd_chat(int argc, char** argv) {
  std::vector<OptionSpec> specs = {{"model", "FILE", "model .gguf", "m"},
                                   {"system", "TEXT", "text placed before the conversation"},
                                   {"n", "N", "most tokens per reply (default 200)", "n"},
                                   {"threads", "N", "threads", "t"},
                                   kv_type_option_spec()};
  for (auto& o : sampler_option_specs(0.7f)) specs.push_back(o);
  Args a("trit chat", "Chat with a GGUF model (one line per message; an empty line or end of input quits).",
         specs);
  if (!a.parse(argc, argv)) return 0;
  TRIT_CHECK(a.has("model"), "trit chat: -m MODEL.gguf is required");
  set_threads(static_cast<int>(a.integer("threads", 0)));
  LoadedModel lm = load_model_gguf(a.str("model"));
  TRIT_CHECK(!lm.tokenizer_spm.empty(), "%s", lm.tokenizer_missing.c_str());
  Tokenizer tok = Tokenizer::from_bytes(lm.tokenizer_spm, "model '" + a.str("model") + "'");
  const int ctx = std::min(lm.weights.config.max_position_embeddings, 4096);
  const int V = lm.weights.config.vocab_size;
  Engine engine(std::move(lm.weights), ctx, 256, kv_type_from_args(a, "trit chat"));
  Sampler sampler(sampler_params_from_args(a, "trit chat", 0.7f));
  const long max_reply = a.integer("n", 200);

  std::vector<uint32_t> ids;
  int pos = 0;
  const float* logits = nullptr;
  auto feed = [&](const std::string& text, bool bos) {
    std::vector<uint32_t> t = tok.encode(text);
    if (bos && tok.bos_id() >= 0) t.insert(t.begin(), static_cast<uint32_t>(tok.bos_id()));
    TRIT_CHECK(pos + static_cast<int>(t.size()) < ctx, "the conversation no longer fits the context of %d tokens", ctx);
    if (t.empty()) return;
    std::vector<int32_t> batch(t.begin(), t.end());
    logits = engine.eval_batch(batch.data(), static_cast<int>(batch.size()), pos);
    pos += static_cast<int>(batch.size());
    ids.insert(ids.end(), t.begin(), t.end());
  };
  feed(a.has("system") ? a.str("system") + "\n\n" : "", true);
  std::string line;
  const bool tty = isatty(0);
  for (;;) {
    if (tty) std::printf("> "), std::fflush(stdout);
    if (!std::getline(std::cin, line) || line.empty()) break;
    feed("User: " + line + "\nAssistant:", false);
    std::vector<uint32_t> reply;
    std::string shown;
    for (long i = 0; i < max_reply && pos < ctx; ++i) {
      const uint32_t next = sampler.sample(logits, V, ids);
      if (static_cast<int>(next) == tok.eos_id()) break;
      reply.push_back(next);
      ids.push_back(next);
      logits = engine.eval(static_cast<int32_t>(next), pos++);
      std::string text = tok.decode(reply);
      const size_t stop = text.find("\nUser:");
      if (stop != std::string::npos) text.resize(stop);
      if (text.size() > shown.size()) {
        std::printf("%s", text.substr(shown.size()).c_str());
        std::fflush(stdout);
        shown = text;
      }
      if (stop != std::string::npos) break;
    }
    std::printf("\n");
    if (pos + 8 >= ctx) {
      std::fprintf(stderr, "trit chat: the context of %d tokens is full\n", ctx);
      break;
    }
    feed("\n", false);
  }
  return 0;
}

}  // namespace trit::cli
