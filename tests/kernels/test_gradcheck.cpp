// Finite-difference checks of every op's backward pass. Each op's output is reduced to a scalar
// f = sum(R * out) with fixed random R; the analytic gradient from the backward pass is compared
// with central differences (f accumulated in double).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "test_util.h"

using namespace trit;

namespace {

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// f: input -> scalar. Checks grad (analytic) against central differences at every element.
void expect_gradient(std::vector<float>& x, const std::vector<float>& grad, const std::function<double()>& f,
                     const char* what, float h = 1e-2f, double rtol = 2e-2, double atol = 2e-3) {
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float keep = x[i];
    x[i] = keep + h;
    const double fp = f();
    x[i] = keep - h;
    const double fm = f();
    x[i] = keep;
    const double num = (fp - fm) / (2.0 * h);
    if (std::fabs(num - grad[i]) > atol + rtol * std::fabs(num)) {
      if (bad++ < 5) ADD_FAILURE() << what << ": element " << i << " analytic " << grad[i] << " numeric " << num;
    }
  }
  EXPECT_EQ(bad, 0) << what;
}

}  // namespace

TEST(GradCheck, RMSNorm) {
  const int N = 3, C = 16;
  auto x = test::random_vec(N * C, 1), w = test::random_vec(C, 2), R = test::random_vec(N * C, 3);
  std::vector<float> y(N * C), rstd(N), dx(N * C, 0.f), dw(C, 0.f);
  rmsnorm_forward(x.data(), w.data(), y.data(), rstd.data(), N, C, 1e-5f);
  rmsnorm_backward(R.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), N, C);
  auto f = [&] {
    rmsnorm_forward(x.data(), w.data(), y.data(), rstd.data(), N, C, 1e-5f);
    return dot(y, R);
  };
  expect_gradient(x, dx, f, "rmsnorm dx");
  expect_gradient(w, dw, f, "rmsnorm dw");
}

TEST(GradCheck, RoPE) {
  const int N = 6, T = 3, hd = 8, heads = 2, stride = 20, col0 = 2;
  RopeTable rt;
  rt.init(hd, T, 10000.f);
  auto x = test::random_vec(N * stride, 4), R = test::random_vec(N * stride, 5);
  auto g = R;
  rope_backward(g.data(), N, T, stride, col0, heads, rt);
  // Untouched columns pass the gradient through unchanged, so the same R applies.
  auto f = [&] {
    auto y = x;
    rope_forward(y.data(), N, T, stride, col0, heads, rt);
    return dot(y, R);
  };
  expect_gradient(x, g, f, "rope");
}

TEST(GradCheck, CausalGQAAttention) {
  const AttentionShape s{2, 5, 4, 2, 4};
  const int N = s.B * s.T, D = s.qkv_stride(), A = s.H * s.hd;
  auto qkv = test::random_vec(N * D, 6), R = test::random_vec(N * A, 7);
  std::vector<float> out(N * A), probs(s.B * s.H * s.T * s.T), dqkv(N * D);
  attention_forward(qkv.data(), out.data(), probs.data(), s);
  attention_backward(R.data(), qkv.data(), probs.data(), dqkv.data(), s);
  auto f = [&] {
    attention_forward(qkv.data(), out.data(), probs.data(), s);
    return dot(out, R);
  };
  expect_gradient(qkv, dqkv, f, "attention dqkv");
}

TEST(GradCheck, AttentionIsCausal) {
  const AttentionShape s{1, 6, 2, 1, 4};
  const int D = s.qkv_stride(), A = s.H * s.hd;
  auto qkv = test::random_vec(s.T * D, 8);
  std::vector<float> out(s.T * A), out2(s.T * A), probs(s.H * s.T * s.T);
  attention_forward(qkv.data(), out.data(), probs.data(), s);
  for (int c = 0; c < D; ++c) qkv[5 * D + c] += 1.0f;  // change the last token only
  attention_forward(qkv.data(), out2.data(), probs.data(), s);
  for (int i = 0; i < 5 * A; ++i) EXPECT_EQ(out[i], out2[i]);
}

TEST(GradCheck, GatedActivations) {
  for (Activation act : {Activation::SiLU, Activation::ReLU2}) {
    const int N = 3, F = 8;
    auto gu = test::random_vec(N * 2 * F, 9), R = test::random_vec(N * F, 10);
    for (auto& v : gu)
      if (std::fabs(v) < 0.05f) v = 0.3f;  // keep away from ReLU's kink
    std::vector<float> h(N * F), dgu(N * 2 * F);
    glu_backward(R.data(), gu.data(), dgu.data(), N, F, act);
    auto f = [&] {
      glu_forward(gu.data(), h.data(), N, F, act);
      return dot(h, R);
    };
    expect_gradient(gu, dgu, f, act == Activation::SiLU ? "swiglu" : "relu2 glu", 1e-3f);
  }
}

TEST(GradCheck, CrossEntropy) {
  const int N = 4, V = 11;
  auto logits = test::random_vec(N * V, 11, 2.0f);
  std::vector<int32_t> tgt = {0, 5, 10, 3};
  std::vector<float> losses(N), d(N * V);
  auto work = logits;
  cross_entropy_forward_backward(work.data(), tgt.data(), losses.data(), d.data(), N, V, 1.0f);
  auto f = [&] {
    auto l = logits;
    cross_entropy_forward_backward(l.data(), tgt.data(), losses.data(), nullptr, N, V, 0.f);
    double s = 0;
    for (float v : losses) s += v;
    return s;
  };
  expect_gradient(logits, d, f, "cross entropy", 1e-3f);
}
