#include <gtest/gtest.h>

#include "core/file.h"
#include "core/error.h"
#include "io/tokenizer.h"
#include "test_util.h"

using namespace trit;

TEST(Tokenizer, TrainsBpeWithByteFallbackAndRoundTrips) {
  test::TempDir tmp;
  std::string text;
  for (int i = 0; i < 300; ++i) text += "The state of the union is strong, said the president in year " + std::to_string(1900 + i) + ".\n";
  write_file_atomic(tmp / "c.txt", text);
  TokenizerTrainOptions o;
  o.inputs = {tmp / "c.txt"};
  o.vocab_size = 320;
  o.out = tmp / "t.model";
  train_tokenizer(o);
  Tokenizer t = Tokenizer::from_file(o.out);
  EXPECT_EQ(t.vocab_size(), 320);
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  // Unseen characters fall back to bytes and decode back exactly, newlines included.
  for (std::string s : {std::string("The union is strong."), std::string("naïve café — 三角形\nnew line"),
                        std::string("  two  spaces\tand tab")}) {
    auto ids = t.encode(s);
    for (uint32_t id : ids) EXPECT_NE(id, 0u) << "unknown token in '" << s << "'";
    EXPECT_EQ(t.decode(ids), s);
  }
  EXPECT_LT(t.encode("the state of the union").size(), 12u);  // merges were learned
  EXPECT_THROW(Tokenizer::from_bytes("not a model", "test"), Error);
}
