// The training loop: batches, forward/backward with gradient accumulation, clipping, AdamW,
// schedules, validation, metrics.jsonl, loss.svg, atomic checkpoints and bitwise-exact resume.
#pragma once
#include <cstdint>
#include <string>

#include "model/config.h"
#include "train/schedule.h"

namespace trit {

struct TrainOptions {
  Config config;          // ignored on resume (the checkpoint's is used)
  std::string data_dir, out_dir;
  bool resume = false;
  long steps = 1000;      // total optimizer steps (the schedule's length)
  double time_budget = 0; // > 0: choose `steps` to fit this many seconds (measured on the first steps)
  long stop_at = 0;       // > 0: stop (with a checkpoint) after this step, as if interrupted
  int batch = 8, seq = 256, grad_accum = 1;
  Schedule schedule;
  float beta1 = 0.9f, beta2 = 0.95f, grad_clip = 1.0f;
  uint64_t seed = 1337;
  int threads = 0;
  long eval_every = 100, eval_batches = 8, ckpt_every = 500, log_every = 1;
  int keep_checkpoints = 2;
  bool progress = true;   // live progress bar on stderr
};

struct TrainResult {
  long steps_done = 0;
  float last_train_loss = 0, last_val_loss = 0;
  double tokens_per_sec = 0, seconds = 0;
  std::string checkpoint;
};

TrainResult run_training(TrainOptions opts);

// Mean validation loss over `batches` batches of B windows (the same windows every call).
class Model;
class TokenDataset;
float evaluate(Model& model, const TokenDataset& data, int B, int T, long batches);

}  // namespace trit
