// Packing: pack -> unpack is bit-exact for every type on shapes that are not multiples of the
// block; TQ2_0/TQ1_0 bytes equal those of a tiny independent encoder written here from ggml's
// documented reference quantizer (quantize_row_tq{1,2}_0_ref: d = max|x|, q = lround(x/d) + 1).
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "core/half.h"
#include "kernels/ternary_pack.h"
#include "test_util.h"

using namespace trit;

namespace {

std::vector<int8_t> random_codes(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<int8_t> c(n);
  for (auto& x : c) x = static_cast<int8_t>(static_cast<int>(r.below(3)) - 1);
  return c;
}

// ggml's reference TQ2_0 quantizer, restated: x are the dequantized weights of one row.
std::vector<uint8_t> ggml_tq2_0(const std::vector<float>& x) {
  std::vector<uint8_t> out;
  for (size_t b = 0; b < x.size() / 256; ++b) {
    const float* xb = x.data() + b * 256;
    float amax = 0;
    for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax, id = d ? 1.0f / d : 0.0f;
    uint8_t qs[64];
    for (int j = 0; j < 64; j += 32) {
      for (int m = 0; m < 32; ++m) {
        uint8_t q = 0;
        for (int n = 0; n < 4; ++n) q += static_cast<uint8_t>(((std::lround(xb[m + n * 32] * id) + 1) & 3) << (2 * n));
        qs[j + m] = q;
      }
      xb += 128;
    }
    out.insert(out.end(), qs, qs + 64);
    const uint16_t h = _cvtss_sh(d, 0);  // hardware fp16 conversion (F16C), round to nearest even
    out.push_back(static_cast<uint8_t>(h & 0xff));
    out.push_back(static_cast<uint8_t>(h >> 8));
  }
  return out;
}

// ggml's reference TQ1_0 quantizer, restated.
std::vector<uint8_t> ggml_tq1_0(const std::vector<float>& x) {
  std::vector<uint8_t> out;
  for (size_t b = 0; b < x.size() / 256; ++b) {
    const float* xb = x.data() + b * 256;
    float amax = 0;
    for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax, id = d ? 1.0f / d : 0.0f;
    uint8_t qs[48], qh[4];
    for (int m = 0; m < 32; ++m) {
      uint8_t q = 0;
      for (int n = 0; n < 5; ++n) q = static_cast<uint8_t>(q * 3 + std::lround(xb[m + n * 32] * id) + 1);
      qs[m] = static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + 242) / 243);
    }
    xb += 160;
    for (int m = 0; m < 16; ++m) {
      uint8_t q = 0;
      for (int n = 0; n < 5; ++n) q = static_cast<uint8_t>(q * 3 + std::lround(xb[m + n * 16] * id) + 1);
      qs[32 + m] = static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + 242) / 243);
    }
    xb += 80;
    for (int j = 0; j < 4; ++j) {
      uint8_t q = 0;
      for (int m = 0; m < 4; ++m) q = static_cast<uint8_t>(q * 3 + std::lround(xb[j + m * 4] * id) + 1);
      q = static_cast<uint8_t>(q * 3);
      qh[j] = static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + 242) / 243);
    }
    out.insert(out.end(), qs, qs + 48);
    out.insert(out.end(), qh, qh + 4);
    const uint16_t h = _cvtss_sh(d, 0);
    out.push_back(static_cast<uint8_t>(h & 0xff));
    out.push_back(static_cast<uint8_t>(h >> 8));
  }
  return out;
}

}  // namespace

TEST(Pack, Trit2AndTrit1RoundTripOnAnyShape) {
  const int shapes[][2] = {{1, 1}, {3, 127}, {5, 129}, {2, 161}, {4, 320}, {7, 1000}, {2, 4096}};
  for (auto [rows, cols] : shapes) {
    const auto codes = random_codes(static_cast<size_t>(rows) * cols, rows * 7919 + cols);
    std::vector<uint8_t> p2(rows * trit2_row_bytes(cols)), p1(rows * trit1_row_bytes(cols));
    pack_trit2(codes.data(), rows, cols, p2.data());
    pack_trit1(codes.data(), rows, cols, p1.data());
    std::vector<int8_t> u2(codes.size(), 9), u1(codes.size(), 9);
    unpack_trit2(p2.data(), rows, cols, u2.data());
    unpack_trit1(p1.data(), rows, cols, u1.data());
    EXPECT_EQ(u2, codes) << rows << "x" << cols;
    EXPECT_EQ(u1, codes) << rows << "x" << cols;
  }
  EXPECT_EQ(trit2_row_bytes(4096), 1024u);           // 2 bits per weight
  EXPECT_EQ(trit1_row_bytes(4000), 800u);            // 1.6 bits per weight
}

TEST(Pack, Trits5DecodeEveryByteValue) {
  for (int v = 0; v < 243; ++v) {
    uint8_t q[5];
    int x = v;
    for (int n = 4; n >= 0; --n) {
      q[n] = static_cast<uint8_t>(x % 3);
      x /= 3;
    }
    const uint8_t byte = static_cast<uint8_t>((v * 256 + 242) / 243);
    int8_t t[5];
    decode_trits5(byte, t);
    for (int n = 0; n < 5; ++n) EXPECT_EQ(t[n], q[n] - 1) << "v=" << v << " digit " << n;
  }
}

TEST(Pack, TQ2_0AndTQ1_0MatchIndependentGgmlEncoder) {
  const int rows = 3, cols = 512;
  for (int trial = 0; trial < 3; ++trial) {
    auto codes = random_codes(rows * cols, 100 + trial);
    if (trial == 2) std::fill(codes.begin() + 256, codes.begin() + 512, 0);  // an all-zero block: d = 0
    std::vector<uint16_t> d(rows * 2);
    std::vector<float> x(codes.size());
    Rng r(trial);
    for (int rr = 0; rr < rows; ++rr)
      for (int b = 0; b < 2; ++b) {
        const float s = f16_to_f32(f32_to_f16(static_cast<float>(0.01 + r.uniform())));
        bool any = false;
        for (int k = 0; k < 256; ++k) {
          const size_t i = static_cast<size_t>(rr) * cols + b * 256 + k;
          x[i] = codes[i] * s;
          any |= codes[i] != 0;
        }
        d[rr * 2 + b] = f32_to_f16(any ? s : 0.0f);
      }
    std::vector<uint8_t> t2(rows * tq2_0_row_bytes(cols)), t1(rows * tq1_0_row_bytes(cols));
    pack_tq2_0(codes.data(), d.data(), rows, cols, t2.data());
    pack_tq1_0(codes.data(), d.data(), rows, cols, t1.data());
    std::vector<uint8_t> ref2, ref1;
    for (int rr = 0; rr < rows; ++rr) {
      std::vector<float> row(x.begin() + rr * cols, x.begin() + (rr + 1) * cols);
      auto a = ggml_tq2_0(row), b = ggml_tq1_0(row);
      ref2.insert(ref2.end(), a.begin(), a.end());
      ref1.insert(ref1.end(), b.begin(), b.end());
    }
    EXPECT_EQ(t2, ref2) << "trial " << trial;
    EXPECT_EQ(t1, ref1) << "trial " << trial;
    std::vector<int8_t> u(codes.size());
    std::vector<uint16_t> ud(d.size());
    unpack_tq2_0(t2.data(), rows, cols, u.data(), ud.data());
    EXPECT_EQ(u, codes);
    EXPECT_EQ(ud, d);
    unpack_tq1_0(t1.data(), rows, cols, u.data(), ud.data());
    EXPECT_EQ(u, codes);
    EXPECT_EQ(ud, d);
  }
}

TEST(Half, Fp16MatchesHardwareConversion) {
  Rng r(5);
  for (int i = 0; i < 200000; ++i) {
    float f;
    if (i < 65536) {
      f = _cvtsh_ss(static_cast<uint16_t>(i));  // every half, including subnormals, inf, nan
      if (std::isnan(f)) continue;
      EXPECT_EQ(f16_to_f32(static_cast<uint16_t>(i)), f) << i;
    } else {
      const uint32_t bits = static_cast<uint32_t>(r.next_u64());
      std::memcpy(&f, &bits, 4);
      if (std::isnan(f)) continue;
      if (i % 2) f = std::ldexp(std::fabs(f) > 0 ? f / std::fabs(f) : 1.0f, static_cast<int>(r.below(50)) - 30) *
                     static_cast<float>(1.0 + r.uniform());
    }
    EXPECT_EQ(f32_to_f16(f), _cvtss_sh(f, 0)) << f;
  }
}

TEST(Half, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808000)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f818000)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808001)), 0x3f81);
  for (uint32_t h = 0; h < 65536; h += 7) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) EXPECT_EQ(f32_to_bf16(f), h);
  }
}
