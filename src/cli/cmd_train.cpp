// trit train (--preset NAME | --config FILE) --data DIR --out RUN [...]
#include <cstdio>

#include "cli/args.h"
#include "cli/model_args.h"
#include "core/error.h"
#include "core/file.h"
#include "train/data.h"
#include "train/trainer.h"

namespace trit::cli {

int cmd_train(int argc, char** argv) {
  std::vector<OptionSpec> specs = model_option_specs();
  const std::vector<OptionSpec> more = {
      {"data", "DIR", "data folder from `trit data`"},
      {"out", "RUN", "run folder: metrics.jsonl, loss.svg, checkpoints"},
      {"resume", "", "continue RUN from its newest checkpoint (bitwise as if never stopped)"},
      {"steps", "N", "optimizer steps (default 1000)"},
      {"time-budget", "SEC", "instead of --steps: as many steps as fit in SEC seconds (measured)"},
      {"stop-at", "STEP", "stop after STEP with a checkpoint, keeping the schedule of --steps"},
      {"batch", "B", "sequences per micro-batch (default 8)"},
      {"seq", "T", "tokens per sequence (default: min(256, context))"},
      {"grad-accum", "K", "micro-batches per optimizer step (default 1)"},
      {"lr", "X", "peak learning rate (default 3e-3 ternary, 1e-3 fp)"},
      {"schedule", "S", "cosine (default), wsd or two-stage (BitNet)"},
      {"warmup", "N", "warmup steps (default: 5% of steps, at most 300)"},
      {"min-lr-frac", "X", "final learning rate as a fraction of the peak (default 0.1)"},
      {"weight-decay", "X", "AdamW weight decay on matrices (default 0.1)"},
      {"grad-clip", "X", "clip the global gradient norm (default 1.0; 0 = off)"},
      {"beta2", "X", "AdamW beta2 (default 0.95)"},
      {"eval-every", "N", "validation every N steps (default 50)"},
      {"eval-batches", "N", "validation batches (default 8)"},
      {"ckpt-every", "N", "checkpoint every N steps (default 200); always one at the end"},
      {"keep", "N", "checkpoints kept (default 2)"},
      {"threads", "N", "threads (default: all cores)"},
      {"seed", "S", "random seed (default 1337)"},
      {"no-progress", "", "no progress bar"}};
  specs.insert(specs.end(), more.begin(), more.end());
  Args a("trit train", "Train a ternary (1.58-bit, QAT with the straight-through estimator) or fp model.", specs);
  if (!a.parse(argc, argv)) return 0;

  TrainOptions o;
  o.resume = a.flag("resume");
  TRIT_CHECK(a.has("data"), "trit train: --data DIR is required");
  TRIT_CHECK(a.has("out"), "trit train: --out RUN is required");
  o.data_dir = a.str("data");
  o.out_dir = a.str("out");
  TRIT_CHECK(!path_exists(o.out_dir) || is_directory(o.out_dir), "trit train: output folder '%s' exists and is a file",
             o.out_dir.c_str());
  if (!o.resume) {
    o.config = model_config_from_args(a, "trit train");
    // A preset adopts the data's vocabulary; an explicit config must already cover it.
    if (a.has("preset") && path_exists(o.data_dir + "/meta.json")) {
      try {
        TokenDataset probe(o.data_dir, 1, 0);
        if (static_cast<int>(probe.vocab_size()) != o.config.vocab_size) {
          std::fprintf(stderr, "note: vocab_size %d of preset '%s' set to the data's %u\n", o.config.vocab_size,
                       a.str("preset").c_str(), probe.vocab_size());
          o.config.vocab_size = static_cast<int>(probe.vocab_size());
        }
      } catch (const Error&) {
        // reported with full context when training opens the data
      }
    }
  } else {
    TRIT_CHECK(!a.has("preset") && !a.has("config"), "trit train: --resume takes the model from the checkpoint; drop "
                                                     "--preset/--config");
  }
  const bool budget = a.has("time-budget");
  o.time_budget = a.number("time-budget", 0);
  o.steps = a.integer("steps", o.resume ? 0 : 1000);
  o.stop_at = a.integer("stop-at", 0);
  o.batch = static_cast<int>(a.integer("batch", 8));
  o.seq = static_cast<int>(a.integer("seq", std::min(256, o.config.max_position_embeddings)));
  o.grad_accum = static_cast<int>(a.integer("grad-accum", 1));
  o.schedule.kind = a.str("schedule", "cosine");
  o.schedule.lr = static_cast<float>(a.number("lr", o.config.ternary() ? 3e-3 : 1e-3));
  o.schedule.min_lr_frac = static_cast<float>(a.number("min-lr-frac", 0.1));
  o.schedule.weight_decay = static_cast<float>(a.number("weight-decay", 0.1));
  const long warm_default = std::min(300L, std::max(1L, (budget ? 600L : o.steps) / 20));
  o.schedule.warmup = a.integer("warmup", warm_default);
  o.grad_clip = static_cast<float>(a.number("grad-clip", 1.0));
  o.beta2 = static_cast<float>(a.number("beta2", 0.95));
  o.eval_every = a.integer("eval-every", 50);
  o.eval_batches = a.integer("eval-batches", 8);
  o.ckpt_every = a.integer("ckpt-every", 200);
  o.keep_checkpoints = static_cast<int>(a.integer("keep", 2));
  o.threads = static_cast<int>(a.integer("threads", 0));
  o.seed = static_cast<uint64_t>(a.integer("seed", 1337));
  o.progress = !a.flag("no-progress");
  TRIT_CHECK(o.keep_checkpoints >= 1, "trit train: --keep must be at least 1");
  TRIT_CHECK(o.eval_batches >= 1, "trit train: --eval-batches must be at least 1");
  TRIT_CHECK(o.resume || o.steps > 0 || budget, "trit train: --steps must be positive");

  const TrainResult r = run_training(o);
  std::printf("done: %ld steps in %.1f s, %.0f tokens/s; final train loss %.4f, validation loss %.4f\n", r.steps_done,
              r.seconds, r.tokens_per_sec, r.last_train_loss, r.last_val_loss);
  std::printf("checkpoint: %s\nmetrics: %s/metrics.jsonl  plot: %s/loss.svg\n", r.checkpoint.c_str(),
              o.out_dir.c_str(), o.out_dir.c_str());
  return 0;
}

}  // namespace trit::cli
