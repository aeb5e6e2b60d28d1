// The dense products of the engine (embeddings, output head) against scalar references, and the
// inference activation row against the training formula.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "core/rng.h"
#include "kernels/activation.h"
#include "kernels/dense_gemv.h"
#include "kernels/ternary_gemv.h"
#include "test_util.h"

using namespace trit;

// An int8 head times int8 activations: every SIMD level equals the exact integer product (the
// AVX-512 form adds 128 to x and subtracts 128 * row sum), on widths around the 64-byte step.
TEST(DenseGemv, Int8HeadWithInt8ActivationsIsExact) {
  const SimdLevel best = detect_simd();
  for (const int cols : {64, 100, 256, 1000, 1536}) {
    const int rows = 37;
    Rng r(cols);
    std::vector<int8_t> w(static_cast<size_t>(rows) * cols);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(r.below(256)) - 128);
    std::vector<float> scales(rows);
    for (auto& s : scales) s = static_cast<float>(0.001 + 0.01 * r.uniform());
    const DenseMatrix W{DenseType::I8, reinterpret_cast<const uint8_t*>(w.data()), scales.data(), rows, cols};
    const int padded = (cols + 127) / 128 * 128;
    auto x = test::random_vec(cols, 7 * cols);
    std::vector<int8_t> x8(padded);
    std::vector<int32_t> xs(padded / 32);
    const float xscale = quantize_row_i8(x.data(), cols, padded, x8.data(), xs.data());
    std::vector<int32_t> sums(rows);
    dense_row_sums(W, sums.data());
    std::vector<float> ref(rows);
    for (int i = 0; i < rows; ++i) {
      int64_t acc = 0, wsum = 0;
      for (int c = 0; c < cols; ++c) {
        acc += static_cast<int64_t>(w[static_cast<size_t>(i) * cols + c]) * x8[c];
        wsum += w[static_cast<size_t>(i) * cols + c];
      }
      EXPECT_EQ(sums[i], wsum);
      ref[i] = static_cast<float>(static_cast<double>(acc) * scales[i] * xscale);
    }
    for (SimdLevel lv : {SimdLevel::Scalar, SimdLevel::AVX2, SimdLevel::AVX512}) {
      if (static_cast<int>(lv) > static_cast<int>(best)) continue;
      std::vector<float> y(rows);
      dense_gemv_i8(W, x8.data(), xscale, sums.data(), y.data(), lv);
      EXPECT_LE(test::rel_max_error(y.data(), ref.data(), rows), 1e-6) << simd_name(lv) << " cols " << cols;
    }
  }
}

// The vectorized per-token quantization gives exactly the scalar reference's bytes, sums and scale,
// including values that land on a rounding tie (x * s = k + 0.5 rounds to even).
TEST(DenseGemv, VectorQuantizationEqualsScalarReference) {
  for (const int cols : {1, 15, 16, 100, 1536, 4096}) {
    const int padded = (cols + 127) / 128 * 128;
    auto x = test::random_vec(cols, cols + 3);
    // amax = 127 exactly, so s = 1 and the halves below are exact ties.
    x[0] = 127.0f;
    for (int c = 1; c < cols; c += 7) x[c] = static_cast<float>((c % 50) - 25) + 0.5f;
    std::vector<int8_t> a(padded, 1), b(padded, 2);
    std::vector<int32_t> sa(padded / 32, 1), sb(padded / 32, 2);
    const float fa = quantize_row_i8(x.data(), cols, padded, a.data(), sa.data());
    const float fb = quantize_row_i8_ref(x.data(), cols, padded, b.data(), sb.data());
    EXPECT_EQ(fa, fb);
    EXPECT_EQ(a, b) << cols;
    EXPECT_EQ(sa, sb) << cols;
  }
}

// glu_row (libmvec exp where available) against the training formula, silu and relu^2.
TEST(DenseGemv, InferenceActivationRowMatchesFormula) {
  for (const int F : {1, 17, 4096}) {
    auto g = test::random_vec(F, F);
    auto u = test::random_vec(F, F + 1);
    for (auto& v : g) v *= 8.0f;  // reach the tails of the sigmoid
    for (const Activation act : {Activation::SiLU, Activation::ReLU2}) {
      std::vector<float> h(F), ref(F);
      glu_row(g.data(), u.data(), h.data(), F, act);
      for (int i = 0; i < F; ++i) {
        const double gi = g[i];
        const double a = act == Activation::SiLU ? gi / (1.0 + std::exp(-gi)) : (gi > 0 ? gi * gi : 0.0);
        ref[i] = static_cast<float>(a * u[i]);
      }
      EXPECT_LE(test::rel_max_error(h.data(), ref.data(), F), 1e-6) << F;
    }
    // Softmax numerators and their sum.
    std::vector<float> e = g;
    const float mx = *std::max_element(g.begin(), g.end());
    const float sum = exp_shifted_sum(e.data(), F, mx);
    std::vector<float> eref(F);
    double sref = 0;
    for (int i = 0; i < F; ++i) sref += eref[i] = static_cast<float>(std::exp(static_cast<double>(g[i]) - mx));
    EXPECT_LE(test::rel_max_error(e.data(), eref.data(), F), 1e-6) << F;
    EXPECT_NEAR(sum, sref, 1e-5 * sref) << F;
  }
}

// Every stored type (f32, f16, bf16, int8 with row scales) times fp32 activations: every SIMD level
// against a double-precision product of the decoded weights, on widths around the vector steps.
TEST(DenseGemv, EveryTypeAndLevelMatchesDecodedProduct) {
  const SimdLevel best = detect_simd();
  for (const DenseType type : {DenseType::F32, DenseType::F16, DenseType::BF16, DenseType::I8})
    for (const int cols : {7, 16, 33, 100, 1536}) {
      const int rows = 23;
      Rng r(cols * 5 + static_cast<int>(type));
      const size_t n = static_cast<size_t>(rows) * cols;
      std::vector<uint8_t> data(n * 4);
      std::vector<double> decoded(n);
      for (size_t i = 0; i < n; ++i) {
        const float v = static_cast<float>(r.uniform() * 2.0 - 1.0);
        switch (type) {
          case DenseType::F32: std::memcpy(&data[4 * i], &v, 4); decoded[i] = v; break;
          case DenseType::F16: {
            const uint16_t h = f32_to_f16(v);
            std::memcpy(&data[2 * i], &h, 2);
            decoded[i] = f16_to_f32(h);
            break;
          }
          case DenseType::BF16: {
            const uint16_t h = f32_to_bf16(v);
            std::memcpy(&data[2 * i], &h, 2);
            decoded[i] = bf16_to_f32(h);
            break;
          }
          case DenseType::I8: {
            const int8_t q = static_cast<int8_t>(std::lround(v * 127));
            data[i] = static_cast<uint8_t>(q);
            decoded[i] = q;
            break;
          }
        }
      }
      std::vector<float> scales(rows);
      for (auto& s : scales) s = static_cast<float>(0.5 + r.uniform());
      const DenseMatrix W{type, data.data(), scales.data(), rows, cols};
      const auto x = test::random_vec(cols, cols);
      std::vector<float> ref(rows);
      for (int i = 0; i < rows; ++i) {
        double a = 0;
        for (int c = 0; c < cols; ++c) a += decoded[static_cast<size_t>(i) * cols + c] * x[c];
        ref[i] = static_cast<float>(type == DenseType::I8 ? a * scales[i] : a);
      }
      for (SimdLevel lv : {SimdLevel::Scalar, SimdLevel::AVX2, SimdLevel::AVX512}) {
        if (static_cast<int>(lv) > static_cast<int>(best)) continue;
        std::vector<float> y(rows);
        dense_gemv(W, x.data(), y.data(), lv);
        EXPECT_LE(test::rel_max_error(y.data(), ref.data(), rows), 1e-5)
            << simd_name(lv) << " type " << static_cast<int>(type) << " cols " << cols;
      }
      // dense_row decodes one row exactly.
      std::vector<float> row(cols);
      dense_row(W, 3, row.data());
      for (int c = 0; c < cols; ++c)
        EXPECT_FLOAT_EQ(row[c], static_cast<float>(decoded[3 * static_cast<size_t>(cols) + c] *
                                                   (type == DenseType::I8 ? scales[3] : 1.0f)));
    }
}
