// trit eval -m CHECKPOINT --data DIR: validation loss and perplexity of a checkpoint.
#include <cmath>
#include <cstdio>

#include "cli/args.h"
#include "core/error.h"
#include "core/threads.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/model.h"
#include "train/trainer.h"

namespace trit::cli {

int cmd_eval(int argc, char** argv) {
  Args a("trit eval", "Validation loss (nats/token) and perplexity of a checkpoint on a data folder.",
         {{"model", "FILE", "checkpoint (.trit)", "m"},
          {"data", "DIR", "data folder from `trit data`"},
          {"batches", "N", "batches of 8 x seq windows (default: all validation windows)"},
          {"seq", "T", "tokens per window (default: the training seq)"},
          {"threads", "N", "threads", "t"}});
  if (!a.parse(argc, argv)) return 0;
  TRIT_CHECK(a.has("model") && a.has("data"), "trit eval: --model FILE and --data DIR are required");
  set_threads(static_cast<int>(a.integer("threads", 0)));
  Checkpoint ck = load_checkpoint(a.str("model"), false);
  const int T = static_cast<int>(a.integer("seq", ck.state.at("options").at("seq").get<int>()));
  TokenDataset data(a.str("data"), T, 0);
  const int B = 8;
  const long all = static_cast<long>((data.val_windows() + B - 1) / B);
  const long batches = a.integer("batches", all);
  TRIT_CHECK(batches > 0, "trit eval: --batches must be positive");
  Model model(ck.config, B, T);
  model.params = std::move(ck.params);
  model.quantize_weights(ck.state.value("step", 0L));
  const float loss = evaluate(model, data, B, T, batches);
  std::printf("val_loss %.4f  perplexity %.2f  (%ld x %d x %d tokens)\n", loss, std::exp(loss), batches, B, T);
  return 0;
}

}  // namespace trit::cli
