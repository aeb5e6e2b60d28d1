// Every SIMD level of the ternary products against the scalar reference, and the scalar reference
// against a plain float product of the unpacked codes, on shapes that are not multiples of a chunk.
#include <gtest/gtest.h>

#include "core/half.h"
#include "kernels/quant.h"
#include "kernels/ternary_gemv.h"
#include "kernels/ternary_pack.h"
#include "test_util.h"

using namespace trit;

namespace {
struct Case {
  int rows, cols, group;
};
}  // namespace

// llama.cpp's blocks (one fp16 scale per 256 inline) against a float product of the codes, one
// vector at a time and batched, at every SIMD level.
TEST(TernaryGemv, TQBlocksMatchFloatProduct) {
  const SimdLevel best = detect_simd();
  const int rows = 14, cols = 768, n = 19;
  for (const bool tq1 : {false, true}) {
    Rng r(tq1 ? 9 : 8);
    std::vector<int8_t> codes(rows * cols);
    for (auto& c : codes) c = static_cast<int8_t>(static_cast<int>(r.below(3)) - 1);
    std::vector<uint16_t> d(rows * cols / 256);
    for (auto& h : d) h = f32_to_f16(static_cast<float>(0.01 + r.uniform()));
    std::vector<uint8_t> packed(rows * (tq1 ? tq1_0_row_bytes(cols) : tq2_0_row_bytes(cols)));
    (tq1 ? pack_tq1_0 : pack_tq2_0)(codes.data(), d.data(), rows, cols, packed.data());
    const Trit2Matrix W{packed.data(), nullptr, rows, cols, 256, !tq1, false, tq1};
    std::vector<int8_t> x8(static_cast<size_t>(n) * cols);
    std::vector<int32_t> xs(static_cast<size_t>(n) * cols / 32);
    std::vector<float> xscale(n), ref8(static_cast<size_t>(n) * rows), reff(rows);
    const auto x0 = test::random_vec(cols, 4);
    for (int j = 0; j < n; ++j) {
      const auto x = test::random_vec(cols, 4 + j);
      xscale[j] = quantize_row_i8(x.data(), cols, cols, x8.data() + static_cast<size_t>(j) * cols,
                                  xs.data() + static_cast<size_t>(j) * cols / 32);
    }
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < rows; ++i) {
        double a8 = 0, af = 0;
        for (int c = 0; c < cols; ++c) {
          const double w = codes[i * cols + c] * static_cast<double>(f16_to_f32(d[(i * cols + c) / 256]));
          a8 += w * x8[static_cast<size_t>(j) * cols + c];
          af += w * x0[c];
        }
        ref8[static_cast<size_t>(j) * rows + i] = static_cast<float>(a8 * xscale[j]);
        if (j == 0) reff[i] = static_cast<float>(af);
      }
    for (SimdLevel lv : {SimdLevel::Scalar, SimdLevel::AVX2, SimdLevel::AVX512}) {
      if (static_cast<int>(lv) > static_cast<int>(best)) continue;
      std::vector<float> y8(static_cast<size_t>(n) * rows), yf(rows);
      trit2_gemv_i8(W, x8.data(), xs.data(), xscale[0], y8.data(), lv);
      trit2_gemv_f32(W, x0.data(), yf.data(), lv);
      EXPECT_LE(test::rel_max_error(y8.data(), ref8.data(), rows), 1e-5) << simd_name(lv) << (tq1 ? " tq1_0" : " tq2_0");
      EXPECT_LE(test::rel_max_error(yf.data(), reff.data(), rows), 1e-5) << simd_name(lv) << (tq1 ? " tq1_0" : " tq2_0");
      trit2_gemm_i8(W, n, x8.data(), xs.data(), cols, xscale.data(), y8.data(), rows, lv);
      EXPECT_LE(test::rel_max_error(y8.data(), ref8.data(), n * rows), 1e-5)
          << "batched " << simd_name(lv) << (tq1 ? " tq1_0" : " tq2_0");
    }
  }
}

// A random ternary matrix packed as trit2 or trit1, with random positive scales.
struct PackedMatrix {
  std::vector<int8_t> codes;
  std::vector<uint8_t> packed;
  std::vector<float> scales;
  Trit2Matrix W;
};
PackedMatrix random_matrix(const Case& cs, bool trit1) {
  PackedMatrix m;
  Rng r(cs.rows * 131 + cs.cols);
  m.codes.resize(static_cast<size_t>(cs.rows) * cs.cols);
  for (auto& c : m.codes) c = static_cast<int8_t>(static_cast<int>(r.below(3)) - 1);
  m.packed.resize(cs.rows * (trit1 ? trit1_row_bytes(cs.cols) : trit2_row_bytes(cs.cols)));
  (trit1 ? pack_trit1 : pack_trit2)(m.codes.data(), cs.rows, cs.cols, m.packed.data());
  m.scales.resize(ternary_scale_count(cs.rows, cs.cols, cs.group));
  for (auto& s : m.scales) s = static_cast<float>(0.01 + r.uniform());
  m.W = Trit2Matrix{m.packed.data(), m.scales.data(), cs.rows, cs.cols, cs.group, false, trit1};
  return m;
}

const Case kCases[] = {{5, 96, kScaleTensor}, {7, 200, kScaleRow}, {3, 320, 32},  {9, 1000, kScaleRow},
                       {4, 384, 64},          {6, 512, 128},       {2, 256, 256}, {33, 640, 32},
                       {13, 1152, kScaleTensor}, {10, 1024, 512}, {17, 768, kScaleRow}, {26, 384, kScaleTensor}};

TEST(TernaryGemv, AllLevelsMatchReferences) {
  const SimdLevel best = detect_simd();
  for (const bool trit1 : {false, true})
  for (const auto& cs : kCases) {
    const PackedMatrix m = random_matrix(cs, trit1);
    const Trit2Matrix& W = m.W;
    const auto& codes = m.codes;
    const auto& scales = m.scales;
    const int padded = (cs.cols + 127) / 128 * 128;
    auto x = test::random_vec(padded, cs.cols);
    std::fill(x.begin() + cs.cols, x.end(), 0.0f);
    std::vector<int8_t> x8(padded);
    std::vector<int32_t> xs(padded / 32);
    const float xscale = quantize_row_i8(x.data(), cs.cols, padded, x8.data(), xs.data());
    // Plain float products of the unpacked weights.
    const int g = cs.group == kScaleTensor ? cs.rows * cs.cols : cs.group == kScaleRow ? cs.cols : cs.group;
    std::vector<float> ref8(cs.rows), reff(cs.rows);
    for (int i = 0; i < cs.rows; ++i) {
      double a8 = 0, af = 0;
      for (int c = 0; c < cs.cols; ++c) {
        const size_t k = static_cast<size_t>(i) * cs.cols + c;
        const double w = codes[k] * static_cast<double>(scales[k / g]);
        a8 += w * x8[c];
        af += w * x[c];
      }
      ref8[i] = static_cast<float>(a8 * xscale);
      reff[i] = static_cast<float>(af);
    }
    for (SimdLevel lv : {SimdLevel::Scalar, SimdLevel::AVX2, SimdLevel::AVX512}) {
      if (static_cast<int>(lv) > static_cast<int>(best)) continue;
      std::vector<float> y8(cs.rows), yf(cs.rows);
      trit2_gemv_i8(W, x8.data(), xs.data(), xscale, y8.data(), lv);
      trit2_gemv_f32(W, x.data(), yf.data(), lv);
      EXPECT_LE(test::rel_max_error(y8.data(), ref8.data(), cs.rows), 1e-5) << simd_name(lv) << " " << cs.cols << (trit1 ? " trit1" : " trit2");
      EXPECT_LE(test::rel_max_error(yf.data(), reff.data(), cs.rows), 1e-5)
          << simd_name(lv) << " " << cs.cols << (trit1 ? " trit1" : " trit2");
    }
  }
}

// The batched (prefill) product equals the one-vector product row by row, for batch sizes around
// the 16- and 32-token tiles and row counts around the 12-row blocks, for every layout.
TEST(TernaryGemv, BatchedProductMatchesRowByRow) {
  const SimdLevel best = detect_simd();
  for (const bool trit1 : {false, true})
  for (const auto& cs : kCases) {
    const PackedMatrix m = random_matrix(cs, trit1);
    const int padded = (cs.cols + 127) / 128 * 128, stride = padded + 128;
    for (const int n : {1, 2, 16, 17, 33, 40}) {
      std::vector<int8_t> x8(static_cast<size_t>(n) * stride, 99);  // 99: bytes no product may read
      std::vector<int32_t> xs(static_cast<size_t>(n) * stride / 32);
      std::vector<float> xscale(n);
      for (int j = 0; j < n; ++j) {
        auto x = test::random_vec(cs.cols, 1000 * j + cs.cols);
        xscale[j] = quantize_row_i8(x.data(), cs.cols, padded, x8.data() + static_cast<size_t>(j) * stride,
                                    xs.data() + static_cast<size_t>(j) * stride / 32);
      }
      const int ys = cs.rows + 3;
      std::vector<float> ref(static_cast<size_t>(n) * ys, 0.0f);
      for (int j = 0; j < n; ++j)
        trit2_gemv_i8(m.W, x8.data() + static_cast<size_t>(j) * stride, xs.data() + static_cast<size_t>(j) * stride / 32,
                      xscale[j], ref.data() + static_cast<size_t>(j) * ys, SimdLevel::Scalar);
      for (SimdLevel lv : {SimdLevel::Scalar, SimdLevel::AVX2, SimdLevel::AVX512}) {
        if (static_cast<int>(lv) > static_cast<int>(best)) continue;
        std::vector<float> y(static_cast<size_t>(n) * ys, 0.0f);
        trit2_gemm_i8(m.W, n, x8.data(), xs.data(), stride, xscale.data(), y.data(), ys, lv);
        EXPECT_LE(test::rel_max_error(y.data(), ref.data(), n * ys), 1e-5)
            << simd_name(lv) << " rows " << cs.rows << " cols " << cs.cols << " n " << n << (trit1 ? " trit1" : "");
      }
    }
  }
}

// Several matrices of one width at once (q, k, v; gate, up) give what each gives alone, batched and
// one vector at a time.
TEST(TernaryGemv, SeveralProductsAtOnceMatchOneByOne) {
  const SimdLevel best = detect_simd();
  const Case shapes[] = {{40, 768, kScaleTensor}, {13, 768, kScaleRow}, {26, 768, 256}};
  std::vector<PackedMatrix> ms;
  for (const auto& cs : shapes) ms.push_back(random_matrix(cs, false));
  const Trit2Matrix* Ws[3] = {&ms[0].W, &ms[1].W, &ms[2].W};
  const int cols = 768, stride = 896;
  for (const int n : {1, 5, 33}) {
    std::vector<int8_t> x8(static_cast<size_t>(n) * stride);
    std::vector<int32_t> xs(static_cast<size_t>(n) * stride / 32);
    std::vector<float> xscale(n);
    for (int j = 0; j < n; ++j) {
      auto x = test::random_vec(cols, 50 + j);
      xscale[j] = quantize_row_i8(x.data(), cols, stride, x8.data() + static_cast<size_t>(j) * stride,
                                  xs.data() + static_cast<size_t>(j) * stride / 32);
    }
    for (SimdLevel lv : {SimdLevel::Scalar, SimdLevel::AVX2, SimdLevel::AVX512}) {
      if (static_cast<int>(lv) > static_cast<int>(best)) continue;
      std::vector<std::vector<float>> together(3, std::vector<float>(static_cast<size_t>(n) * 64, 0.0f));
      std::vector<std::vector<float>> alone = together;
      float* ys[3] = {together[0].data(), together[1].data(), together[2].data()};
      if (n == 1) trit2_gemv_i8_multi(Ws, ys, 3, x8.data(), xs.data(), xscale[0], lv);
      else trit2_gemm_i8_multi(Ws, ys, 3, n, x8.data(), xs.data(), stride, xscale.data(), 64, lv);
      for (int m = 0; m < 3; ++m) {
        trit2_gemm_i8(*Ws[m], n, x8.data(), xs.data(), stride, xscale.data(), alone[m].data(), 64, SimdLevel::Scalar);
        EXPECT_LE(test::rel_max_error(together[m].data(), alone[m].data(), n * 64), 1e-5)
            << simd_name(lv) << " n " << n << " matrix " << m;
      }
    }
  }
}
