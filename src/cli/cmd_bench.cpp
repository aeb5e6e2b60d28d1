// trit bench train: training throughput of a model shape on random tokens, beside the machine's
// sgemm rate measured in the same run.
//
// Work per step, counted as "model FLOPs": 6 * (matrix parameters used in products) per token for
// forward + backward (2 forward, 4 backward), plus causal attention 6 * L * C * T per token
// (QK^T and PV at an average T/2 keys, forward and backward).
#include <cstdio>
#include <cstring>
#include <vector>

#include "cli/args.h"
#include "cli/engine_args.h"
#include "cli/model_args.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "core/timer.h"
#include "kernels/gemm.h"
#include "train/model.h"
#include "train/optimizer.h"
#include "infer/engine.h"
#include "io/model_loader.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

namespace trit::cli {

namespace {

double measure_sgemm_gflops(int n) {
  std::vector<float> A(static_cast<size_t>(n) * n), B(A.size()), C(A.size());
  Rng r(1);
  for (auto& x : A) x = static_cast<float>(r.uniform() - 0.5);
  for (auto& x : B) x = static_cast<float>(r.uniform() - 0.5);
  matmul_nt(A.data(), B.data(), C.data(), n, n, n, false);  // warm up
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const double t0 = now_seconds();
    matmul_nt(A.data(), B.data(), C.data(), n, n, n, false);
    best = std::min(best, now_seconds() - t0);
  }
  return 2.0 * n * n * static_cast<double>(n) / best / 1e9;
}

int bench_train(int argc, char** argv) {
  std::vector<OptionSpec> specs = model_option_specs();
  specs.push_back({"batch", "B", "sequences per step (default 8)"});
  specs.push_back({"seq", "T", "tokens per sequence (default 256)"});
  specs.push_back({"steps", "N", "measured steps after one warm-up step (default 3)"});
  specs.push_back({"threads", "N", "threads (default: all cores)"});
  specs.push_back({"pytorch-tok-s", "X", "PyTorch's figure to compare with (default 420: reference file)"});
  specs.push_back({"json", "", "print one JSON object"});
  Args a("trit bench train", "Training tokens/s and GFLOP/s of a model shape, beside sgemm GFLOP/s.", specs);
  if (!a.parse(argc, argv)) return 0;
  set_threads(static_cast<int>(a.integer("threads", 0)));
  Config cfg = model_config_from_args(a, "trit bench train");
  const int B = static_cast<int>(a.integer("batch", 8)), T = static_cast<int>(a.integer("seq", 256));
  const int steps = static_cast<int>(a.integer("steps", 3));
  TRIT_CHECK(B > 0 && T > 0 && steps > 0, "trit bench train: batch, seq and steps must be positive");
  const double sgemm = measure_sgemm_gflops(2048);

  Model model(cfg, B, T);
  model.init_random(1);
  AdamW adam(model.params.size(), AdamWParams{});
  std::vector<int32_t> in(static_cast<size_t>(B) * T), tgt(in.size());
  Rng r(7);
  for (size_t i = 0; i < in.size(); ++i) {
    in[i] = static_cast<int32_t>(r.below(cfg.vocab_size));
    tgt[i] = static_cast<int32_t>(r.below(cfg.vocab_size));
  }
  double matrix_params = 0;
  for (const auto& t : model.layout().tensors)
    if (t.kind == TensorKind::BitLinear || t.kind == TensorKind::Head) matrix_params += static_cast<double>(t.size());
  if (cfg.tie_word_embeddings) matrix_params += static_cast<double>(cfg.vocab_size) * cfg.hidden_size;
  const double flops_per_token = 6.0 * matrix_params + 6.0 * cfg.num_hidden_layers * cfg.hidden_size * T;

  double t_q = 0, t_f = 0, t_b = 0, t_o = 0;
  for (int s = 0; s <= steps; ++s) {
    const double t0 = now_seconds();
    model.quantize_weights(s);
    model.zero_grads();
    const double t1 = now_seconds();
    model.forward(in.data(), tgt.data(), B, T);
    const double t2 = now_seconds();
    model.backward(in.data(), 1.0f);
    const double t3 = now_seconds();
    clip_grad_norm(model.grads.data(), model.grads.size(), 1.0f);
    adam.update(model.layout(), model.params.data(), model.grads.data(), s + 1, 1e-4f, 0.1f);
    const double t4 = now_seconds();
    if (s == 0) continue;  // warm-up
    t_q += t1 - t0;
    t_f += t2 - t1;
    t_b += t3 - t2;
    t_o += t4 - t3;
  }
  const double per_step = (t_q + t_f + t_b + t_o) / steps;
  const double tok_s = B * T / per_step;
  const double gflops = flops_per_token * tok_s / 1e9;
  const double pt = a.number("pytorch-tok-s", 420);
  if (a.flag("json")) {
    std::printf("{\"params\":%zu,\"threads\":%d,\"batch\":%d,\"seq\":%d,\"step_s\":%.4f,\"tokens_per_sec\":%.1f,"
                "\"model_gflops\":%.1f,\"sgemm_gflops\":%.1f,\"fraction_of_sgemm\":%.3f,\"vs_pytorch\":%.2f,"
                "\"quantize_s\":%.4f,\"forward_s\":%.4f,\"backward_s\":%.4f,\"optimizer_s\":%.4f}\n",
                model.params.size(), num_threads(), B, T, per_step, tok_s, gflops, sgemm, gflops / sgemm, tok_s / pt,
                t_q / steps, t_f / steps, t_b / steps, t_o / steps);
    return 0;
  }
  std::printf("model: %.2fM parameters, %s%s, batch %d x seq %d, %d threads\n", model.params.size() / 1e6,
              cfg.ternary() ? "ternary " : "fp", cfg.ternary() ? (cfg.act_bits == 8 ? "W1.58A8" : "weight-only") : "",
              B, T, num_threads());
  std::printf("step: %.3f s (quantize %.3f, forward %.3f, backward %.3f, optimizer %.3f)\n", per_step, t_q / steps,
              t_f / steps, t_b / steps, t_o / steps);
  std::printf("training: %.0f tokens/s, %.1f model GFLOP/s (%.1f GFLOP/token)\n", tok_s, gflops,
              flops_per_token / 1e9);
  std::printf("machine: sgemm %.1f GFLOP/s (2048^3, same run) -> %.0f%% of sgemm\n", sgemm, 100.0 * gflops / sgemm);
  std::printf("vs PyTorch %.0f tokens/s: %.2fx\n", pt, tok_s / pt);
  return 0;
}

// The machine's read bandwidth now: a parallel sum over 1 GiB, 5 passes; `median` is the typical
// sustained rate (the yardstick of a decode run lasting seconds), `best` the fastest pass. On this
// shared machine single passes range widely (28-51 GB/s were seen on 2 threads), so both are shown.
struct ReadBandwidth {
  double median = 0, best = 0;
};
ReadBandwidth measure_read_bandwidth();

// Runs in a child process so that its buffer does not count in the peak resident memory reported for
// the model.
ReadBandwidth read_bandwidth_in_child() {
  int fds[2];
  TRIT_CHECK(pipe(fds) == 0, "trit bench: pipe failed");
  std::fflush(stdout);
  const pid_t pid = fork();
  TRIT_CHECK(pid >= 0, "trit bench: fork failed");
  if (pid == 0) {
    const ReadBandwidth bw = measure_read_bandwidth();
    (void)!write(fds[1], &bw, sizeof bw);
    _exit(0);
  }
  ReadBandwidth bw;
  (void)!read(fds[0], &bw, sizeof bw);
  close(fds[0]);
  close(fds[1]);
  waitpid(pid, nullptr, 0);
  return bw;
}

ReadBandwidth measure_read_bandwidth() {
  const size_t n = (1ULL << 30) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) buf[i] = i;
  std::vector<double> secs;
  uint64_t sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_seconds();
    uint64_t s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (size_t i = 0; i < n; ++i) s += buf[i];
    secs.push_back(now_seconds() - t0);
    sink += s;
  }
  if (sink == 42) std::printf(" ");
  std::sort(secs.begin(), secs.end());
  const double bytes = static_cast<double>(n * sizeof(uint64_t));
  return {bytes / secs[secs.size() / 2] / 1e9, bytes / secs.front() / 1e9};
}

int bench_model(int argc, char** argv) {
  Args a("trit bench", "Prefill and decode speed of a GGUF model, beside the machine's read bandwidth.",
         {{"model", "FILE", "a .gguf model", "m"},
          {"threads", "N", "threads (default: all cores)", "t"},
          {"prompt", "N", "prefill tokens (default 512)", "p"},
          {"n", "N", "decode tokens (default 128)", "n"},
          {"batch", "B", "prefill batch (default 256)", "b"},
          kv_type_option_spec(),
          {"json", "", "print one JSON object"}});
  if (!a.parse(argc, argv)) return 0;
  TRIT_CHECK(a.has("model"), "trit bench: -m MODEL is required");
  set_threads(static_cast<int>(a.integer("threads", 0)));
  const int np = static_cast<int>(a.integer("prompt", 512)), nd = static_cast<int>(a.integer("n", 128));
  TRIT_CHECK(np > 0 && nd > 0, "trit bench: -p and -n must be positive");
  const KvType kv_type = kv_type_from_args(a, "trit bench");
  const ReadBandwidth rbw = read_bandwidth_in_child();
  const double bw = rbw.median;
  LoadedModel lm = load_model_gguf(a.str("model"));
  const Config c = lm.weights.config;
  const int ctx = std::max(np, nd);
  TRIT_CHECK(ctx <= c.max_position_embeddings, "trit bench: -p and -n must be at most the model's context %d",
             c.max_position_embeddings);
  const int batch = static_cast<int>(a.integer("batch", 256));
  TRIT_CHECK(batch > 0, "trit bench: -b must be positive");
  Engine e(std::move(lm.weights), ctx, batch, kv_type);
  Rng r(1);
  std::vector<int32_t> prompt(np);
  for (auto& t : prompt) t = static_cast<int32_t>(r.below(c.vocab_size));
  // As llama-bench: a warm-up token (it also maps every weight page in), then the prompt from an
  // empty context, then nd tokens generated from an empty context again.
  e.eval(prompt[0], 0);
  const double t0 = now_seconds();
  const float* logits = e.eval_batch(prompt.data(), np, 0);
  const double t1 = now_seconds();
  double kv = 0;
  int32_t next = prompt[0];
  for (int i = 0; i < nd; ++i) {
    kv += static_cast<double>(e.kv_bytes_read(i));
    logits = e.eval(next, i);
    next = static_cast<int32_t>(std::max_element(logits, logits + c.vocab_size) - logits);
  }
  const double t2 = now_seconds();
  const double prefill = np / (t1 - t0), decode = nd / (t2 - t1);
  const double bytes_tok = static_cast<double>(e.weights().bytes_per_token) + kv / nd;
  const double gbs = bytes_tok * decode / 1e9;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const double rss_mb = ru.ru_maxrss / 1024.0;
  if (a.flag("json")) {
    std::printf("{\"model\":\"%s\",\"threads\":%d,\"simd\":\"%s\",\"kv_type\":\"%s\",\"prefill_tokens\":%d,\"decode_tokens\":%d,"
                "\"prefill_tok_s\":%.2f,\"decode_tok_s\":%.2f,\"decode_bytes_per_token\":%.0f,\"decode_gb_s\":%.3f,"
                "\"read_bw_gb_s\":%.3f,\"read_bw_best_gb_s\":%.3f,\"fraction_of_bw\":%.3f,\"peak_rss_mb\":%.1f}\n",
                a.str("model").c_str(), num_threads(), simd_name(e.simd()), kv_type == KvType::F16 ? "f16" : "f32", np, nd,
                prefill, decode, bytes_tok, gbs, bw, rbw.best, gbs / bw, rss_mb);
    return 0;
  }
  std::printf("model %s: %d layers, hidden %d, %s kernels, %d threads\n", a.str("model").c_str(), c.num_hidden_layers,
              c.hidden_size, simd_name(e.simd()), num_threads());
  std::printf("prefill (pp%d): %.1f tokens/s\n", np, prefill);
  std::printf("decode  (tg%d): %.1f tokens/s, %.2f MB/token, %.2f GB/s = %.0f%% of the %.2f GB/s read bandwidth "
              "measured now (median of 5 passes; best %.2f)\n", nd, decode, bytes_tok / 1e6, gbs, 100.0 * gbs / bw, bw,
              rbw.best);
  std::printf("peak resident memory: %.1f MB\n", rss_mb);
  return 0;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  if (argc >= 2 && !std::strcmp(argv[1], "train")) return bench_train(argc - 1, argv + 1);
  if (argc >= 2 && argv[1][0] == '-' && std::strcmp(argv[1], "--help") && std::strcmp(argv[1], "-h"))
    return bench_model(argc, argv);
  std::printf("usage: trit bench train (--preset NAME | --config FILE) [--batch B] [--seq T] [--threads N] [--json]\n"
              "       trit bench -m MODEL.gguf [-t T] [-p 512] [-n 128] [--json]\n");
  return argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) ? 0 : 2;
}

}  // namespace trit::cli
