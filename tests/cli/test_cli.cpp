// The trit binary end to end, and its answers to bad input: a clear message naming the problem, a
// non-zero exit, and nothing the user had overwritten.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/file.h"
#include "test_util.h"

using namespace trit;
using test::run_trit;

namespace {

std::string corpus_text(int paragraphs) {
  const char* words[] = {"the", "union", "state", "people", "congress", "nation", "peace", "law", "year", "work",
                         "free", "trade", "war", "government", "president", "citizens", "justice", "liberty",
                         "economy", "future", "we", "must", "will", "and", "of", "to", "in", "for", "our", "all"};
  Rng r(1);
  std::string s;
  for (int p = 0; p < paragraphs; ++p) {
    for (int w = 0; w < 60; ++w) {
      s += words[r.below(30)];
      s += w % 12 == 11 ? ".\n" : " ";
    }
    s += "\n";
  }
  return s;
}

// A tokenizer and a data folder shared by the tests of this file.
class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new test::TempDir();
    for (int i = 0; i < 6; ++i) write_file_atomic(*tmp_ / ("doc" + std::to_string(i) + ".txt"), corpus_text(40));
    auto r = run_trit("tokenizer train --input " + *tmp_ / "doc0.txt " + *tmp_ / "doc1.txt --vocab-size 300 --out " +
                      *tmp_ / "tok.model");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::string inputs;
    for (int i = 0; i < 6; ++i) inputs += *tmp_ / ("doc" + std::to_string(i) + ".txt ");
    r = run_trit("data --tokenizer " + *tmp_ / "tok.model --input " + inputs + "--out " + *tmp_ / "data --val-fraction 0.2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete tmp_; }
  static std::string dir(const std::string& name) { return *tmp_ / name; }
  // Copies the shared data folder so a test can damage it.
  static std::string data_copy(const std::string& name) {
    const std::string d = dir(name);
    std::filesystem::copy(dir("data"), d, std::filesystem::copy_options::recursive);
    return d;
  }
  static void expect_failure(const std::string& args, const std::string& needle) {
    auto r = run_trit(args);
    EXPECT_NE(r.exit_code, 0) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
  }
  static test::TempDir* tmp_;
};
test::TempDir* Cli::tmp_ = nullptr;

const char* kTrain = "train --preset nano --batch 2 --seq 32 --no-progress --threads 2 ";

}  // namespace

TEST_F(Cli, TrainGenerateEvalEndToEnd) {
  const std::string run = dir("run-e2e");
  auto r = run_trit(std::string(kTrain) + "--data " + dir("data") + " --out " + run + " --steps 6 --eval-every 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(path_exists(run + "/metrics.jsonl"));
  EXPECT_NE(read_file(run + "/loss.svg").find("<svg"), std::string::npos);
  EXPECT_NE(read_file(run + "/metrics.jsonl").find("\"val_loss\""), std::string::npos);
  const std::string ck = run + "/ckpt-00000006.trit";
  ASSERT_TRUE(path_exists(ck));
  r = run_trit("generate -m " + ck + " -p 'the union' -n 8 --seed 1 --threads 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("the union", 0), 0u) << r.output;
  r = run_trit("eval --model " + ck + " --data " + dir("data") + " --threads 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("val_loss"), std::string::npos) << r.output;
}

TEST_F(Cli, PackInfoAndInit) {
  const std::string run = dir("run-pack");
  auto r = run_trit(std::string(kTrain) + "--data " + dir("data") + " --out " + run + " --steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string ck = run + "/ckpt-00000002.trit";
  r = run_trit("pack " + ck + " -o " + dir("m.gguf") + " --type trit1 --embd-type int8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_trit("info " + dir("m.gguf") + " --tensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("TRIT1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("blk.0.attn_q.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the same model in BF16"), std::string::npos) << r.output;
  // nano's 128-wide rows cannot hold TQ2_0's 256-weight blocks: refused, nothing written.
  expect_failure("pack " + ck + " -o " + dir("tq.gguf") + " --type tq2_0", "not a multiple of 256");
  EXPECT_FALSE(path_exists(dir("tq.gguf")));
  const std::string fp_run = dir("run-pack-fp");
  r = run_trit(std::string(kTrain) + "--precision fp --data " + dir("data") + " --out " + fp_run + " --steps 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_failure("pack " + fp_run + "/ckpt-00000001.trit -o " + dir("fp.gguf"), "trained in full precision");
  r = run_trit("pack " + fp_run + "/ckpt-00000001.trit -o " + dir("fp.gguf") + " --type bf16");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_trit("init --preset nano --random --type tq2_0 -o " + dir("r.gguf"));
  EXPECT_NE(r.exit_code, 0);  // nano rows are 128 wide
  r = run_trit("init --config " + dir("cfg256.json") + " --random --type tq2_0 -o " + dir("r.gguf"));
  EXPECT_NE(r.exit_code, 0);  // no such config
  write_file_atomic(dir("cfg256.json"), R"({"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
      "num_attention_heads": 4, "vocab_size": 300, "max_position_embeddings": 64})");
  r = run_trit("init --config " + dir("cfg256.json") + " --random --type tq2_0 -o " + dir("r.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_trit("info " + dir("r.gguf"));
  EXPECT_NE(r.output.find("general.architecture                         llama"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("TQ2_0"), std::string::npos) << r.output;
  write_file_atomic(dir("notgguf"), "hello");
  expect_failure("info " + dir("notgguf"), "too short");
  // The engine runs it (TQ2_0 on one token and a prompt, fp16 cache), and bench reports it as JSON.
  r = run_trit("bench -m " + dir("r.gguf") + " -t 2 -p 9 -n 5 --kv-type f16 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* key : {"\"prefill_tok_s\":", "\"decode_tok_s\":", "\"decode_gb_s\":", "\"read_bw_gb_s\":",
                          "\"peak_rss_mb\":", "\"kv_type\":\"f16\""})
    EXPECT_NE(r.output.find(key), std::string::npos) << key << r.output;
  expect_failure("bench -m " + dir("r.gguf") + " -p 9 -n 5 --kv-type f8", "--kv-type must be f32 or f16, not 'f8'");
  expect_failure("bench -m " + dir("r.gguf") + " -p 100", "at most the model's context 64");
}

TEST_F(Cli, PackedModelGeneratesWhatTheCheckpointGenerates) {
  // A trained checkpoint and its packed GGUF give the same 200-token greedy text. Weight-only: with
  // int8 activations a barely trained model's near-tied logits can flip on a one-ulp difference
  // between the engine's integer sums and training's fp32 GEMMs (see tests/infer/test_engine.cpp).
  const std::string run = dir("run-greedy");
  auto r = run_trit(std::string(kTrain) + "--act-bits none --data " + dir("data") + " --out " + run +
                    " --steps 30 --eval-every 0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string ck = run + "/ckpt-00000030.trit";
  for (const char* wt : {"trit2", "bf16"}) {
    r = run_trit("pack " + ck + " -o " + dir(std::string("g-") + wt + ".gguf") + " --type " + wt + " --embd-type f32");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string args = " -p 'the union' -n 200 --temp 0 --repeat-penalty 1 --threads 2";
  const auto from_ckpt = run_trit("generate -m " + ck + args);
  const auto from_gguf = run_trit("generate -m " + dir("g-trit2.gguf") + args);
  ASSERT_EQ(from_ckpt.exit_code, 0) << from_ckpt.output;
  ASSERT_EQ(from_gguf.exit_code, 0) << from_gguf.output;
  EXPECT_GT(from_ckpt.output.size(), 100u);
  EXPECT_EQ(from_gguf.output, from_ckpt.output);
  // chat: two messages on standard input, two replies, then end of input.
  const auto chat = test::run_shell("printf 'hello\\nthe union\\n' | " + std::string(TRIT_BINARY) + " chat -m " +
                                    dir("g-trit2.gguf") + " -n 12 --seed 3 --threads 2");
  EXPECT_EQ(chat.exit_code, 0) << chat.output;
  EXPECT_GE(std::count(chat.output.begin(), chat.output.end(), '\n'), 2) << chat.output;
  // The bf16 file holds the same ternary weights (scale * {-1,0,1}) rounded to bf16: it runs too.
  const auto from_bf16 = run_trit("generate -m " + dir("g-bf16.gguf") + args);
  EXPECT_EQ(from_bf16.exit_code, 0) << from_bf16.output;
}

TEST_F(Cli, EveryCommandHasHelp) {
  for (const char* c :
       {"tokenizer train", "data", "train", "eval", "generate", "chat", "bench train", "pack", "init", "info"}) {
    auto r = run_trit(std::string(c) + " --help");
    EXPECT_EQ(r.exit_code, 0) << c << r.output;
    EXPECT_NE(r.output.find("usage:"), std::string::npos) << c;
  }
}

TEST_F(Cli, UnknownPresetAndOption) {
  expect_failure(std::string(kTrain) + "--data " + dir("data") + " --out " + dir("r1") + " --preset huge",
                 "--preset given more than once");
  expect_failure("train --preset huge --data " + dir("data") + " --out " + dir("r1"), "unknown preset 'huge'");
  expect_failure("train --preset nano --data " + dir("data") + " --out " + dir("r1") + " --bogus 3",
                 "unknown option --bogus");
  expect_failure("train --preset nano --data " + dir("data") + " --out " + dir("r1") + " --steps ten",
                 "expects an integer");
  expect_failure("train --preset nano --data " + dir("data") + " --out " + dir("r1") + " --group-size 48",
                 "unknown group size");
  EXPECT_FALSE(path_exists(dir("r1")));
}

TEST_F(Cli, ImpossibleConfigShapes) {
  write_file_atomic(dir("bad_heads.json"),
                    R"({"hidden_size": 100, "intermediate_size": 256, "num_hidden_layers": 2,
                        "num_attention_heads": 3, "vocab_size": 300, "max_position_embeddings": 64})");
  expect_failure("train --config " + dir("bad_heads.json") + " --data " + dir("data") + " --out " + dir("r2"),
                 "hidden_size 100 is not divisible by num_attention_heads 3");
  write_file_atomic(dir("bad_kv.json"),
                    R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 300,
                        "max_position_embeddings": 64})");
  expect_failure("train --config " + dir("bad_kv.json") + " --data " + dir("data") + " --out " + dir("r2"),
                 "not divisible by num_key_value_heads 3");
  write_file_atomic(dir("bad_group.json"),
                    R"({"hidden_size": 96, "intermediate_size": 192, "num_hidden_layers": 1,
                        "num_attention_heads": 4, "vocab_size": 300, "max_position_embeddings": 64,
                        "trit_group_size": 64})");
  expect_failure("train --config " + dir("bad_group.json") + " --data " + dir("data") + " --out " + dir("r2"),
                 "not divisible by group size 64");
  write_file_atomic(dir("not_json.json"), "{hidden_size: 3");
  expect_failure("train --config " + dir("not_json.json") + " --data " + dir("data") + " --out " + dir("r2"),
                 "not valid JSON");
  write_file_atomic(dir("neg.json"), R"({"hidden_size": -64, "intermediate_size": 128, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "vocab_size": 300, "max_position_embeddings": 64})");
  expect_failure("train --config " + dir("neg.json") + " --data " + dir("data") + " --out " + dir("r2"),
                 "hidden_size must be positive");
  EXPECT_FALSE(path_exists(dir("r2")));
}

TEST_F(Cli, EmptyCorpus) {
  write_file_atomic(dir("empty.txt"), "");
  expect_failure("tokenizer train --input " + dir("empty.txt") + " --vocab-size 300 --out " + dir("e.model"),
                 "corpus is empty");
  EXPECT_FALSE(path_exists(dir("e.model")));
  write_file_atomic(dir("blank.txt"), "\n \n\t\n");
  expect_failure("data --tokenizer " + dir("tok.model") + " --input " + dir("empty.txt") + " " + dir("blank.txt") +
                     " --out " + dir("d-empty"),
                 "corpus is empty");
  EXPECT_FALSE(path_exists(dir("d-empty")));
  write_file_atomic(dir("bad.jsonl"), "{\"text\": \"fine\"}\n{\"txt\": 3}\n");
  expect_failure("data --tokenizer " + dir("tok.model") + " --input " + dir("bad.jsonl") + " --out " + dir("d-j"),
                 "line 2 has no string field 'text'");
}

TEST_F(Cli, OutputFolderThatIsAFileIsLeftAlone) {
  write_file_atomic(dir("precious"), "user data\n");
  expect_failure(std::string(kTrain) + "--data " + dir("data") + " --out " + dir("precious") + " --steps 2",
                 "exists and is a file");
  expect_failure("data --tokenizer " + dir("tok.model") + " --input " + dir("doc0.txt") + " --out " + dir("precious"),
                 "exists and is a file");
  EXPECT_EQ(read_file(dir("precious")), "user data\n");
}

TEST_F(Cli, MissingEmptyAndTruncatedShards) {
  const std::string out = " --steps 2 --out " + dir("r3");
  expect_failure(std::string(kTrain) + "--data " + dir("nowhere") + out, "does not exist");
  const std::string d1 = data_copy("d-missing");
  std::filesystem::remove(d1 + "/val_000.bin");
  expect_failure(std::string(kTrain) + "--data " + d1 + out, "val_000.bin");
  const std::string d2 = data_copy("d-trunc");
  std::string shard = read_file(d2 + "/train_000.bin");
  write_file_atomic(d2 + "/train_000.bin", shard.substr(0, shard.size() - 3));
  expect_failure(std::string(kTrain) + "--data " + d2 + out, "truncated");
  write_file_atomic(d2 + "/train_000.bin", shard.substr(0, 12));
  expect_failure(std::string(kTrain) + "--data " + d2 + out, "truncated");
  const std::string d3 = data_copy("d-empty-shard");
  std::string empty = shard.substr(0, 32);
  for (int i = 16; i < 24; ++i) empty[i] = 0;  // n_tokens = 0
  write_file_atomic(d3 + "/train_000.bin", empty);
  expect_failure(std::string(kTrain) + "--data " + d3 + out, "is empty");
  const std::string d4 = data_copy("d-nometa");
  std::filesystem::remove(d4 + "/meta.json");
  expect_failure(std::string(kTrain) + "--data " + d4 + out, "no meta.json");
  EXPECT_FALSE(path_exists(dir("r3")));
}

TEST_F(Cli, CorruptOrTruncatedCheckpoint) {
  const std::string run = dir("run-ck");
  auto r = run_trit(std::string(kTrain) + "--data " + dir("data") + " --out " + run + " --steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string ck = run + "/ckpt-00000002.trit";
  const std::string good = read_file(ck);
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x10;
  write_file_atomic(ck, bad);
  expect_failure("eval -m " + ck + " --data " + dir("data"), "checksum mismatch");
  expect_failure("train --resume --data " + dir("data") + " --out " + run + " --no-progress", "checksum mismatch");
  EXPECT_EQ(read_file(ck), bad);  // nothing rewritten
  write_file_atomic(ck, good.substr(0, good.size() - 1000));
  expect_failure("generate -m " + ck + " -n 2", "truncated");
  expect_failure("train --resume --data " + dir("data") + " --out " + dir("no-such-run"), "holds no checkpoint");
}
