#include "train/trainer.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/rng.h"
#include "core/threads.h"
#include "core/timer.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/model.h"
#include "train/optimizer.h"
#include "train/plot.h"

namespace trit {

using nlohmann::json;

float evaluate(Model& model, const TokenDataset& data, int B, int T, long batches) {
  std::vector<int32_t> in(static_cast<size_t>(B) * T), tgt(in.size());
  double sum = 0.0;
  for (long b = 0; b < batches; ++b) {
    for (int i = 0; i < B; ++i)
      data.val_window(static_cast<size_t>(b) * B + i, in.data() + static_cast<size_t>(i) * T,
                      tgt.data() + static_cast<size_t>(i) * T);
    sum += model.forward(in.data(), tgt.data(), B, T);
  }
  return static_cast<float>(sum / batches);
}

namespace {

json options_to_json(const TrainOptions& o) {
  return json{{"steps", o.steps},
              {"batch", o.batch},
              {"seq", o.seq},
              {"grad_accum", o.grad_accum},
              {"schedule", o.schedule.kind},
              {"lr", o.schedule.lr},
              {"min_lr_frac", o.schedule.min_lr_frac},
              {"warmup", o.schedule.warmup},
              {"weight_decay", o.schedule.weight_decay},
              {"decay_frac", o.schedule.decay_frac},
              {"stage2_frac", o.schedule.stage2_frac},
              {"beta1", o.beta1},
              {"beta2", o.beta2},
              {"grad_clip", o.grad_clip},
              {"seed", o.seed},
              {"eval_every", o.eval_every},
              {"eval_batches", o.eval_batches},
              {"ckpt_every", o.ckpt_every}};
}

void options_from_json(const json& j, TrainOptions& o) {
  o.steps = j.at("steps");
  o.batch = j.at("batch");
  o.seq = j.at("seq");
  o.grad_accum = j.at("grad_accum");
  o.schedule.kind = j.at("schedule");
  o.schedule.lr = j.at("lr");
  o.schedule.min_lr_frac = j.at("min_lr_frac");
  o.schedule.warmup = j.at("warmup");
  o.schedule.weight_decay = j.at("weight_decay");
  o.schedule.decay_frac = j.at("decay_frac");
  o.schedule.stage2_frac = j.at("stage2_frac");
  o.beta1 = j.at("beta1");
  o.beta2 = j.at("beta2");
  o.grad_clip = j.at("grad_clip");
  o.seed = j.at("seed");
  o.eval_every = j.at("eval_every");
  o.eval_batches = j.at("eval_batches");
  o.ckpt_every = j.at("ckpt_every");
}

std::string hms(double s) {
  const long t = static_cast<long>(s + 0.5);
  return t >= 3600 ? strf("%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60) : strf("%02ld:%02ld", t / 60, t % 60);
}

// Metrics kept in memory for the plot; the file is the record.
struct MetricsLog {
  std::string path;
  Series train, val;
  std::vector<std::string> lines;

  void load_until(long last_step) {
    if (!path_exists(path)) return;
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json j;
      try {
        j = json::parse(line);
      } catch (...) {
        continue;  // a line cut by a crash
      }
      if (j.value("step", 0L) > last_step) continue;
      add(j, false);
    }
    rewrite();
  }
  void add(const json& j, bool append) {
    lines.push_back(j.dump());
    train.emplace_back(j.at("step").get<double>(), j.at("train_loss").get<double>());
    if (j.contains("val_loss")) val.emplace_back(j.at("step").get<double>(), j.at("val_loss").get<double>());
    if (append) {
      std::FILE* f = std::fopen(path.c_str(), "a");
      TRIT_CHECK(f, "cannot append to '%s'", path.c_str());
      std::fprintf(f, "%s\n", lines.back().c_str());
      std::fclose(f);
    }
  }
  void rewrite() {
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    write_file_atomic(path, all);
  }
};

}  // namespace

TrainResult run_training(TrainOptions opts) {
  const bool tty = isatty(2);
  set_threads(opts.threads);
  const std::string& out = opts.out_dir;
  TRIT_CHECK(!out.empty(), "--out RUN is required");
  TRIT_CHECK(!path_exists(out) || is_directory(out), "output folder '%s' exists and is a file", out.c_str());

  Config cfg = opts.config;
  json state;
  std::string tokenizer;
  Checkpoint ck;
  const bool resuming = opts.resume;
  if (resuming) {
    const std::string last = latest_checkpoint(out);
    TRIT_CHECK(!last.empty(), "--resume: run folder '%s' holds no checkpoint", out.c_str());
    ck = load_checkpoint(last);
    cfg = ck.config;
    state = ck.state;
    tokenizer = ck.tokenizer;
    const long cli_steps = opts.steps, cli_stop = opts.stop_at;
    const bool cli_budget = opts.time_budget > 0;
    options_from_json(state.at("options"), opts);
    if (cli_steps > 0 && !cli_budget && state.value("steps_from_cli", true)) opts.steps = std::max(cli_steps, opts.steps);
    opts.stop_at = cli_stop;
    std::fprintf(stderr, "resuming %s at step %ld\n", last.c_str(), state.at("step").get<long>());
  } else {
    TRIT_CHECK(latest_checkpoint(out).empty(),
               "run folder '%s' already holds checkpoints: use --resume to continue it, or another --out", out.c_str());
  }
  TRIT_CHECK(opts.batch > 0 && opts.seq > 1 && opts.grad_accum > 0, "batch, seq and grad accumulation must be positive");
  TRIT_CHECK(opts.seq <= cfg.max_position_embeddings, "--seq %d exceeds the model's context of %d", opts.seq,
             cfg.max_position_embeddings);

  TokenDataset data(opts.data_dir, opts.seq, opts.seed);
  TRIT_CHECK(data.vocab_size() <= static_cast<uint32_t>(cfg.vocab_size),
             "the data's vocabulary (%u) is larger than the model's vocab_size (%d)", data.vocab_size(), cfg.vocab_size);
  if (!resuming && !data.tokenizer_path().empty() && path_exists(data.tokenizer_path()))
    tokenizer = read_file(data.tokenizer_path());
  make_directory(out);

  Model model(cfg, opts.batch, opts.seq);
  AdamW adam(model.params.size(), AdamWParams{opts.beta1, opts.beta2, 1e-8f});
  Rng rng(opts.seed);
  long step = 0;
  double tokens_seen = 0;
  if (resuming) {
    model.params = std::move(ck.params);
    adam.m = std::move(ck.adam_m);
    adam.v = std::move(ck.adam_v);
    step = state.at("step");
    tokens_seen = state.at("tokens_seen");
    std::array<uint64_t, 4> rs;
    for (int i = 0; i < 4; ++i) rs[i] = std::stoull(state.at("rng")[i].get<std::string>());
    rng.set_state(rs);
    data.set_position({state.at("data_epoch").get<uint64_t>(), state.at("data_cursor").get<uint64_t>()});
  } else {
    model.init_random(rng.next_u64());
  }
  bool steps_fixed = resuming || opts.time_budget <= 0;
  opts.schedule.total = opts.steps;
  opts.schedule.validate();

  MetricsLog metrics{out + "/metrics.jsonl", {}, {}, {}};
  if (resuming) metrics.load_until(step);
  else write_file_atomic(metrics.path, "");

  const std::string title = strf("trit %s, %s%s", cfg.ternary() ? "ternary (1.58-bit)" : "full precision",
                                 cfg.ternary() ? ("scales " + group_size_name(cfg.group_size)).c_str() : "",
                                 cfg.ternary() ? (cfg.act_bits == 8 ? ", W1.58A8" : ", weight-only") : "");
  auto save = [&](long at_step) {
    json st;
    st["step"] = at_step;
    st["tokens_seen"] = tokens_seen;
    st["options"] = options_to_json(opts);
    st["steps_from_cli"] = opts.time_budget <= 0;
    json r = json::array();
    for (uint64_t x : rng.state()) r.push_back(std::to_string(x));
    st["rng"] = r;
    const DataPosition dp = data.position();
    st["data_epoch"] = dp.epoch;
    st["data_cursor"] = dp.cursor;
    st["threads"] = num_threads();
    const std::string path = checkpoint_path(out, at_step);
    save_checkpoint(path, cfg, st, tokenizer, model.params.data(), adam.m.data(), adam.v.data(), model.params.size());
    // Keep the newest few; older ones go only after the new one is safely in place.
    std::vector<std::string> all;
    for (const auto& e : std::filesystem::directory_iterator(out)) {
      const std::string n = e.path().filename().string();
      if (n.size() == 18 && n.rfind("ckpt-", 0) == 0 && n.substr(13) == ".trit") all.push_back(n);
    }
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i + opts.keep_checkpoints < all.size(); ++i) std::filesystem::remove(out + "/" + all[i]);
    write_file_atomic(out + "/loss.svg", loss_plot_svg(metrics.train, metrics.val, title));
    return path;
  };

  const int B = opts.batch, T = opts.seq;
  std::vector<int32_t> in(static_cast<size_t>(B) * T), tgt(in.size());
  const double tokens_per_step = static_cast<double>(B) * T * opts.grad_accum;
  TrainResult res;
  const double t_start = now_seconds();
  double t_last = t_start, measured_step_time = 0;
  long measured_from = step;
  float last_val = NAN;
  const std::string steps_text =
      steps_fixed ? std::to_string(opts.steps) : strf("as many as fit %.0f s", opts.time_budget);
  std::fprintf(stderr, "training %s model: %.2fM parameters, %zu train / %zu val tokens, steps: %s, %.0f tokens "
                       "each, %d threads\n",
               cfg.ternary() ? "ternary" : "fp", model.params.size() / 1e6, data.train_tokens(), data.val_tokens(),
               steps_text.c_str(), tokens_per_step, num_threads());

  while (step < opts.steps) {
    model.quantize_weights(step);
    model.zero_grads();
    double loss = 0.0;
    for (int a = 0; a < opts.grad_accum; ++a) {
      data.next_train_batch(B, in.data(), tgt.data());
      loss += model.forward(in.data(), tgt.data(), B, T);
      model.backward(in.data(), 1.0f / opts.grad_accum);
    }
    loss /= opts.grad_accum;
    const float gnorm = clip_grad_norm(model.grads.data(), model.grads.size(), opts.grad_clip);
    const float lr = opts.schedule.lr_at(step), wd = opts.schedule.weight_decay_at(step);
    adam.update(model.layout(), model.params.data(), model.grads.data(), step + 1, lr, wd);
    step++;
    tokens_seen += tokens_per_step;
    const double t_now = now_seconds();
    const double dt = t_now - t_last;
    t_last = t_now;

    if (!steps_fixed && step - measured_from >= 10) {
      // Time budget: the schedule's length is fixed once, from the measured speed, so that the run
      // (and a resume of it) follows one schedule.
      measured_step_time = (t_now - t_start) / (step - measured_from);
      // A validation batch (forward only) costs about 0.4 of a training step.
      const double eval_cost = opts.eval_every > 0 ? opts.eval_batches * 0.4 / opts.eval_every : 0;
      const long fit = static_cast<long>(opts.time_budget / (measured_step_time * (1.0 + eval_cost) + 1e-9));
      opts.steps = std::max(step + 1, std::max(fit, opts.schedule.warmup + 1));
      opts.schedule.total = opts.steps;
      steps_fixed = true;
      std::fprintf(stderr, "%s%.2f s/step measured: %ld steps fit the %.0f s budget\n", tty ? "\r\033[K" : "",
                   measured_step_time, opts.steps, opts.time_budget);
    }

    json m{{"step", step}, {"train_loss", loss}, {"lr", lr}, {"tokens_per_sec", tokens_per_step / dt},
           {"grad_norm", gnorm}, {"tokens", tokens_seen}};
    const bool last = step == opts.steps;
    if (opts.eval_every > 0 && (step % opts.eval_every == 0 || last)) {
      model.quantize_weights(step);
      last_val = evaluate(model, data, B, T, opts.eval_batches);
      m["val_loss"] = last_val;
    }
    if (step % std::max(1L, opts.log_every) == 0 || m.contains("val_loss") || last) metrics.add(m, true);
    res.last_train_loss = static_cast<float>(loss);
    res.last_val_loss = last_val;

    if (opts.progress) {
      const double elapsed = t_now - t_start;
      const double eta = elapsed / (step - measured_from + 0) * (opts.steps - step);
      const int width = 24, filled = static_cast<int>(width * step / std::max(1L, opts.steps));
      std::string bar(filled, '#');
      bar += std::string(width - filled, '.');
      const std::string line =
          strf("step %ld/%ld [%s] loss %.4f val %s lr %.2e %.0f tok/s elapsed %s eta %s", step, opts.steps, bar.c_str(),
               loss, std::isnan(last_val) ? "-" : strf("%.4f", last_val).c_str(), lr, tokens_per_step / dt,
               hms(elapsed).c_str(), hms(eta).c_str());
      if (tty) std::fprintf(stderr, "\r\033[K%s", line.c_str());
      else if (m.contains("val_loss") || last || step % std::max(1L, opts.eval_every / 4) == 0)
        std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    }
    const bool stop_now = opts.stop_at > 0 && step >= opts.stop_at;
    if (last || stop_now || (opts.ckpt_every > 0 && step % opts.ckpt_every == 0)) res.checkpoint = save(step);
    if (stop_now) break;
  }
  if (opts.progress && tty) std::fprintf(stderr, "\n");
  res.steps_done = step;
  res.seconds = now_seconds() - t_start;
  res.tokens_per_sec = (step - measured_from) * tokens_per_step / std::max(1e-9, res.seconds);
  if (res.checkpoint.empty()) res.checkpoint = latest_checkpoint(out);
  return res;
}

}  // namespace trit
