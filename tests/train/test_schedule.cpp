#include <gtest/gtest.h>

#include "core/error.h"
#include "train/schedule.h"

using namespace trit;

TEST(Schedule, CosineWarmupAndFloor) {
  Schedule s;
  s.kind = "cosine";
  s.lr = 1e-3f;
  s.warmup = 10;
  s.total = 110;
  EXPECT_FLOAT_EQ(s.lr_at(0), 1e-4f);
  EXPECT_FLOAT_EQ(s.lr_at(9), 1e-3f);
  EXPECT_NEAR(s.lr_at(60), 0.55e-3f, 1e-6);  // half way: (max + min) / 2
  EXPECT_NEAR(s.lr_at(110), 1e-4f, 1e-9);
  for (long i = 10; i < 110; ++i) EXPECT_LE(s.lr_at(i + 1), s.lr_at(i) + 1e-9f);
}

TEST(Schedule, WarmupStableDecay) {
  Schedule s;
  s.kind = "wsd";
  s.lr = 2e-3f;
  s.warmup = 10;
  s.total = 110;
  s.decay_frac = 0.2f;
  EXPECT_FLOAT_EQ(s.lr_at(50), 2e-3f);
  EXPECT_FLOAT_EQ(s.lr_at(89), 2e-3f);
  EXPECT_LT(s.lr_at(100), 2e-3f);
  EXPECT_NEAR(s.lr_at(110), 2e-4f, 1e-8);
}

TEST(Schedule, BitNetTwoStage) {
  Schedule s;
  s.kind = "two-stage";
  s.lr = 1.5e-3f;
  s.warmup = 10;
  s.total = 200;
  s.weight_decay = 0.1f;
  EXPECT_FLOAT_EQ(s.lr_at(10), 1.5e-3f);
  EXPECT_GT(s.lr_at(99), 1.2e-3f - 1e-6f);
  EXPECT_NEAR(s.lr_at(100), 1e-3f, 1e-7);  // the second stage's lower peak (1.5e-3 -> 1e-3)
  EXPECT_LT(s.lr_at(150), s.lr_at(100));
  EXPECT_FLOAT_EQ(s.weight_decay_at(99), 0.1f);
  EXPECT_FLOAT_EQ(s.weight_decay_at(100), 0.0f);
}

TEST(Schedule, RejectsUnknownKind) {
  Schedule s;
  s.kind = "linear";
  EXPECT_THROW(s.validate(), Error);
}
