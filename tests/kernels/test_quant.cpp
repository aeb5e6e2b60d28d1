#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/quant.h"
#include "test_util.h"

using namespace trit;

namespace {
struct QuantOut {
  std::vector<float> wq, scales;
  std::vector<int8_t> codes;
  bool ok;
};
QuantOut quant(const std::vector<float>& w, int rows, int cols, int group, bool ref) {
  QuantOut o;
  o.wq.resize(w.size());
  o.scales.resize(ternary_scale_count(rows, cols, group));
  o.codes.resize(w.size());
  o.ok = (ref ? ternary_quantize_ref : ternary_quantize)(w.data(), rows, cols, group, o.wq.data(), o.scales.data(),
                                                         o.codes.data());
  return o;
}
}  // namespace

TEST(TernaryQuant, MatchesScalarReferenceOnRandomShapes) {
  const int shapes[][2] = {{1, 32}, {3, 64}, {17, 256}, {64, 128}, {5, 512}, {33, 96}};
  for (auto [rows, cols] : shapes)
    for (int group : {kScaleTensor, kScaleRow, 32}) {
      auto w = test::random_vec(static_cast<size_t>(rows) * cols, rows * 1000 + cols, 0.02f);
      auto a = quant(w, rows, cols, group, false), b = quant(w, rows, cols, group, true);
      ASSERT_TRUE(a.ok && b.ok);
      EXPECT_EQ(a.codes, b.codes) << rows << "x" << cols << " group " << group;
      EXPECT_LE(test::rel_max_error(a.scales.data(), b.scales.data(), a.scales.size()), 1e-6);
    }
}

TEST(TernaryQuant, FollowsAbsmeanDefinition) {
  const int rows = 4, cols = 128;
  auto w = test::random_vec(rows * cols, 3, 0.05f);
  for (int group : {kScaleTensor, kScaleRow, 32, 64, 128}) {
    auto q = quant(w, rows, cols, group, false);
    const int g = group == kScaleTensor ? rows * cols : group == kScaleRow ? cols : group;
    for (size_t s = 0; s < q.scales.size(); ++s) {
      double sum = 0;
      for (int i = 0; i < g; ++i) sum += std::fabs(w[s * g + i]);
      EXPECT_NEAR(q.scales[s], sum / g, 1e-7);
      for (int i = 0; i < g; ++i) {
        const size_t k = s * g + i;
        const float expect = std::fmin(1.f, std::fmax(-1.f, std::nearbyint(w[k] / q.scales[s])));
        EXPECT_EQ(q.codes[k], static_cast<int8_t>(expect));
        EXPECT_EQ(q.wq[k], q.codes[k] * q.scales[s]);  // Wq = Wt * gamma exactly
      }
    }
  }
}

TEST(TernaryQuant, RoundsHalfToEven) {
  // w/gamma = +-0.5 exactly rounds to 0 (torch.round), 1.5 -> 2 -> clamped to 1.
  std::vector<float> w = {0.5f, -0.5f, 1.5f, 1.0f};  // mean |w| = 0.875 ... use row scale of 1 via group
  std::vector<float> w2 = {0.5f, -0.5f, 1.0f, 2.0f};  // mean = 1.0
  auto q = quant(w2, 1, 4, kScaleRow, false);
  EXPECT_FLOAT_EQ(q.scales[0], 1.0f);
  EXPECT_EQ(q.codes[0], 0);
  EXPECT_EQ(q.codes[1], 0);
  EXPECT_EQ(q.codes[2], 1);
  EXPECT_EQ(q.codes[3], 1);
  (void)w;
}

TEST(TernaryQuant, AllZeroAndTinyGroupsUseEpsScale) {
  std::vector<float> w(64, 0.0f);
  for (int i = 32; i < 64; ++i) w[i] = 1e-9f * (i % 2 ? 1 : -1);
  auto q = quant(w, 1, 64, 32, false);
  ASSERT_TRUE(q.ok);
  EXPECT_EQ(q.scales[0], kWeightScaleEps);
  EXPECT_EQ(q.scales[1], kWeightScaleEps);
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(q.codes[i], 0);
    EXPECT_EQ(q.wq[i], 0.0f);
    EXPECT_FALSE(std::isnan(q.wq[i]));
  }
}

TEST(TernaryQuant, NonFiniteInputIsReported) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()})
    for (int group : {kScaleTensor, kScaleRow, 32}) {
      auto w = test::random_vec(4 * 64, 9, 0.02f);
      w[77] = bad;
      EXPECT_FALSE(quant(w, 4, 64, group, false).ok);
      EXPECT_FALSE(quant(w, 4, 64, group, true).ok);
    }
}

TEST(ActQuant, Int8AbsmaxPerRow) {
  const int rows = 5, cols = 77;
  auto x = test::random_vec(rows * cols, 4, 3.0f);
  for (int c = 0; c < cols; ++c) x[4 * cols + c] = 0.0f;  // an all-zero row
  std::vector<float> xhat(x.size()), inv(rows);
  std::vector<int8_t> q(x.size());
  ASSERT_TRUE(act_quantize_int8(x.data(), rows, cols, xhat.data(), inv.data(), q.data()));
  for (int r = 0; r < rows; ++r) {
    float amax = 0;
    for (int c = 0; c < cols; ++c) amax = std::fmax(amax, std::fabs(x[r * cols + c]));
    const float s = 127.0f / std::fmax(amax, kActScaleEps);
    int max_code = 0;
    for (int c = 0; c < cols; ++c) {
      const int k = r * cols + c;
      EXPECT_EQ(q[k], static_cast<int8_t>(std::nearbyint(x[k] * s)));
      EXPECT_EQ(xhat[k], q[k] / s);
      max_code = std::max(max_code, std::abs(static_cast<int>(q[k])));
      EXPECT_LE(std::fabs(xhat[k] - x[k]), 0.5f / s + 1e-6f);  // error at most half a step
    }
    EXPECT_EQ(max_code, r == 4 ? 0 : 127);  // the largest element maps to +-127
  }
}

TEST(ActQuant, NonFiniteInputIsReported) {
  auto x = test::random_vec(3 * 16, 5);
  std::vector<float> xhat(x.size());
  x[20] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(act_quantize_int8(x.data(), 3, 16, xhat.data(), nullptr, nullptr));
  x[20] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(act_quantize_int8(x.data(), 3, 16, xhat.data(), nullptr, nullptr));
}
