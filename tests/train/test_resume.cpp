// Resume and crash safety: N steps straight == N/2 steps, stop, resume N/2 (bitwise), and a
// SIGKILL in the middle of writing a checkpoint leaves the previous one loadable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "model/layout.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/trainer.h"

using namespace trit;

namespace {

// A data folder of patterned random tokens (learnable, so losses move).
void make_data(const std::string& dir, uint32_t V, size_t n_train, size_t n_val) {
  make_directory(dir);
  Rng r(3);
  auto gen = [&](size_t n) {
    std::vector<uint32_t> t(n);
    for (size_t i = 0; i < n; ++i) t[i] = i % 7 == 0 ? static_cast<uint32_t>(r.below(V)) : (t[i ? i - 1 : 0] * 3 + 1) % V;
    return t;
  };
  write_token_shard(dir + "/train_000.bin", gen(n_train), V);
  write_token_shard(dir + "/val_000.bin", gen(n_val), V);
  nlohmann::json meta{{"format", "trit-tokens"}, {"version", 1}, {"vocab_size", V},
                      {"train", {"train_000.bin"}}, {"val", {"val_000.bin"}}};
  write_file_atomic(dir + "/meta.json", meta.dump());
}

TrainOptions tiny_options(const std::string& data, const std::string& out) {
  TrainOptions o;
  o.config = preset_config("nano");
  o.config.num_hidden_layers = 2;
  o.config.vocab_size = 256;
  o.data_dir = data;
  o.out_dir = out;
  o.steps = 8;
  o.batch = 2;
  o.seq = 32;
  o.grad_accum = 2;
  o.schedule.warmup = 2;
  o.eval_every = 3;
  o.eval_batches = 2;
  o.ckpt_every = 0;
  o.progress = false;
  o.threads = 2;
  return o;
}

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST(Resume, StopAndResumeIsBitwiseIdentical) {
  test::TempDir tmp;
  make_data(tmp / "data", 256, 20000, 2000);
  for (const char* precision : {"ternary", "fp"}) {
    const std::string a = tmp / (std::string("straight-") + precision), b = tmp / (std::string("split-") + precision);
    TrainOptions o = tiny_options(tmp / "data", a);
    o.config.precision = std::string(precision) == "fp" ? Precision::FP : Precision::Ternary;
    o.config.group_size = 64;
    run_training(o);

    TrainOptions first = o;
    first.out_dir = b;
    first.stop_at = 4;
    TrainResult r1 = run_training(first);
    EXPECT_EQ(r1.steps_done, 4);
    TrainOptions second;
    second.out_dir = b;
    second.data_dir = tmp / "data";
    second.resume = true;
    second.steps = 0;
    second.progress = false;
    second.threads = 2;
    TrainResult r2 = run_training(second);
    EXPECT_EQ(r2.steps_done, 8);

    Checkpoint ca = load_checkpoint(checkpoint_path(a, 8)), cb = load_checkpoint(checkpoint_path(b, 8));
    ASSERT_EQ(ca.params.size(), cb.params.size());
    EXPECT_EQ(0, std::memcmp(ca.params.data(), cb.params.data(), ca.params.size() * 4)) << precision;
    EXPECT_EQ(0, std::memcmp(ca.adam_m.data(), cb.adam_m.data(), ca.adam_m.size() * 4)) << precision;
    EXPECT_EQ(0, std::memcmp(ca.adam_v.data(), cb.adam_v.data(), ca.adam_v.size() * 4)) << precision;
    EXPECT_EQ(ca.state["data_cursor"], cb.state["data_cursor"]);
    auto ma = read_metrics(a + "/metrics.jsonl"), mb = read_metrics(b + "/metrics.jsonl");
    ASSERT_EQ(ma.size(), mb.size());
    for (size_t i = 0; i < ma.size(); ++i) {
      EXPECT_EQ(ma[i]["step"], mb[i]["step"]);
      EXPECT_EQ(ma[i]["train_loss"].get<double>(), mb[i]["train_loss"].get<double>()) << "step " << ma[i]["step"];
      EXPECT_EQ(ma[i].contains("val_loss"), mb[i].contains("val_loss"));
      if (ma[i].contains("val_loss")) EXPECT_EQ(ma[i]["val_loss"].get<double>(), mb[i]["val_loss"].get<double>());
    }
    EXPECT_LT(ma.back()["train_loss"].get<double>(), ma.front()["train_loss"].get<double>());
  }
}

TEST(Resume, RefusesToOverwriteARunWithoutResume) {
  test::TempDir tmp;
  make_data(tmp / "data", 256, 5000, 1000);
  TrainOptions o = tiny_options(tmp / "data", tmp / "run");
  o.steps = 2;
  run_training(o);
  const std::string before = read_file(checkpoint_path(tmp / "run", 2));
  EXPECT_THROW(run_training(o), Error);
  EXPECT_EQ(before, read_file(checkpoint_path(tmp / "run", 2)));
}

TEST(Checkpoint, SigkillWhileWritingLeavesThePreviousCheckpointLoadable) {
  test::TempDir tmp;
  Config c = preset_config("nano");
  const size_t n = make_layout(c).total;
  std::vector<float> p(n, 0.5f), m(n, 0.25f), v(n, 0.125f);
  const std::string path = tmp / "ckpt.trit";
  save_checkpoint(path, c, nlohmann::json{{"step", 1}}, "tok", p.data(), m.data(), v.data(), n);
  for (int delay_us : {0, 200, 1000, 3000, 10000}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::vector<float> p2(n, 9.0f);
      for (;;) save_checkpoint(path, c, nlohmann::json{{"step", 2}}, "tok", p2.data(), p2.data(), p2.data(), n);
    }
    usleep(delay_us);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    Checkpoint ck = load_checkpoint(path);  // must not throw: old or new, never torn
    const long step = ck.state["step"];
    EXPECT_TRUE(step == 1 || step == 2);
    EXPECT_EQ(ck.params[n / 2], step == 1 ? 0.5f : 9.0f);
  }
}

TEST(Checkpoint, CorruptionAndTruncationAreDetected) {
  test::TempDir tmp;
  Config c = preset_config("nano");
  const size_t n = make_layout(c).total;
  std::vector<float> p(n, 0.5f);
  const std::string path = tmp / "ckpt.trit";
  save_checkpoint(path, c, nlohmann::json{{"step", 1}}, "", p.data(), p.data(), p.data(), n);
  const std::string good = read_file(path);
  auto expect_error = [&](const std::string& bytes, const char* needle) {
    write_file_atomic(tmp / "bad.trit", bytes);
    try {
      load_checkpoint(tmp / "bad.trit");
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(good.substr(0, good.size() / 2), "truncated");
  expect_error(good.substr(0, 10), "truncated");
  expect_error("", "truncated");
  std::string flipped = good;
  flipped[good.size() - 100] ^= 0x40;
  expect_error(flipped, "checksum");
  std::string magic = good;
  magic[0] = 'X';
  expect_error(magic, "not a trit checkpoint");
  std::string table = good;
  table[24 + 8] ^= 1;  // first section's offset
  expect_error(table, "corrupt");
}
