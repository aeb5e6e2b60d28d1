// The C API end to end: load, tokenize, eval, sample, detokenize, errors; and the header is C.
#include <gtest/gtest.h>

#include <algorithm>

#include "api/trit.h"
#include "core/file.h"
#include "io/model_file.h"
#include "io/tokenizer.h"
#include "model_source.h"
#include "test_util.h"
#include "train/model.h"

using namespace trit;

TEST(CApi, HeaderIsPlainC) {
  const auto r = test::run_shell("cc -std=c99 -Wall -Werror -fsyntax-only -x c " + std::string(TRIT_SOURCE_DIR) +
                                 "/src/api/trit.h");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(CApi, LoadTokenizeEvalSample) {
  test::TempDir tmp;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the union is strong and the people are free " + std::to_string(i) + "\n";
  write_file_atomic(tmp / "c.txt", text);
  TokenizerTrainOptions to;
  to.inputs = {tmp / "c.txt"};
  to.vocab_size = 300;
  to.out = tmp / "t.model";
  train_tokenizer(to);
  Tokenizer tok = Tokenizer::from_file(to.out);

  Config c = preset_config("nano");
  c.vocab_size = 300;
  c.act_bits = 0;
  Model m(c, 1, 32);
  m.init_random(9);
  m.quantize_weights(0);
  PackOptions opt;
  opt.embd_type = TensorType::F32;
  write_model_gguf(tmp / "m.gguf", c, test::model_source(m), &tok, opt);

  char err[256];
  trit_model* tm = trit_load((tmp / "m.gguf").c_str(), 32, 2, err, sizeof err);
  ASSERT_NE(tm, nullptr) << err;
  EXPECT_EQ(trit_vocab_size(tm), 300);
  EXPECT_EQ(trit_n_ctx(tm), 32);
  EXPECT_EQ(trit_token_bos(tm), 1);
  int32_t ids[64];
  const int n = trit_tokenize(tm, "the union is strong", 1, ids, 64);
  ASSERT_GT(n, 1);
  EXPECT_EQ(ids[0], 1);
  char buf[256];
  ASSERT_GE(trit_detokenize(tm, ids + 1, n - 1, buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "the union is strong");

  std::vector<int32_t> seq(ids, ids + n);
  m.forward(seq.data(), nullptr, 1, n);
  const float* logits = nullptr;
  for (int i = 0; i < n; ++i) logits = trit_eval(tm, ids[i], i);
  ASSERT_NE(logits, nullptr);
  EXPECT_LE(test::rel_max_error(logits, m.logits() + static_cast<size_t>(n - 1) * 300, 300), 1e-3);

  trit_sample_params sp = trit_default_sample_params();
  sp.temperature = 0;
  sp.repetition_penalty = 1;
  const int32_t greedy = trit_sample(tm, logits, &sp, ids, n);
  EXPECT_EQ(greedy, std::max_element(logits, logits + 300) - logits);
  sp.temperature = 0.8f;
  const int32_t sampled = trit_sample(tm, logits, &sp, ids, n);
  EXPECT_GE(sampled, 0);
  EXPECT_LT(sampled, 300);

  EXPECT_EQ(trit_eval(tm, 5, 99), nullptr);  // outside the context
  EXPECT_NE(std::string(trit_last_error(tm)).find("outside the context"), std::string::npos);
  EXPECT_EQ(trit_eval(tm, 999, 0), nullptr);  // outside the vocabulary
  trit_free(tm);

  EXPECT_EQ(trit_load((tmp / "nope.gguf").c_str(), 0, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("nope.gguf"), std::string::npos) << err;
}
