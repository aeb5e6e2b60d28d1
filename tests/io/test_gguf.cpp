// GGUF files: write -> read round trips, lossless packing of trained weights, the independent
// reader (npm @huggingface/gguf) agreeing with trit's, and malformed files rejected cleanly.
#include <gtest/gtest.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/half.h"
#include "io/gguf.h"
#include "io/model_file.h"
#include "kernels/quant.h"
#include "kernels/ternary_pack.h"
#include "model_source.h"
#include "test_configs.h"
#include "test_util.h"
#include "train/model.h"

using namespace trit;

namespace {

Config small_config(int group, bool subln = false) {
  Config c = test::shape(256, 512, 2, 4, 2, 300, 64);
  c.group_size = group;
  c.subln = subln;
  return c;
}

using test::model_source;

// Wq of a BitLinear tensor decoded from the file, rows back in Hugging Face order.
std::vector<float> decode_weight(const GgufFile& f, const TensorInfo& t, const Config& c) {
  const std::string name = gguf_tensor_name(t.name);
  const GgufTensorInfo* gi = f.tensor(name);
  EXPECT_TRUE(gi) << name;
  std::vector<int8_t> codes(t.size());
  std::vector<float> w(t.size());
  if (gi->type == TensorType::TRIT2 || gi->type == TensorType::TRIT1) {
    (gi->type == TensorType::TRIT2 ? unpack_trit2 : unpack_trit1)(f.data(*gi), t.rows, t.cols, codes.data());
    const GgufTensorInfo* si = f.tensor(name.substr(0, name.size() - 7) + ".scale");
    EXPECT_TRUE(si);
    const float* s = reinterpret_cast<const float*>(f.data(*si));
    const int g = c.group_size == kScaleTensor ? t.rows * t.cols : c.group_size == kScaleRow ? t.cols : c.group_size;
    for (size_t i = 0; i < t.size(); ++i) w[i] = codes[i] * s[i / g];
  } else {
    std::vector<uint16_t> d(t.size() / 256);
    (gi->type == TensorType::TQ2_0 ? unpack_tq2_0 : unpack_tq1_0)(f.data(*gi), t.rows, t.cols, codes.data(), d.data());
    for (size_t i = 0; i < t.size(); ++i) w[i] = codes[i] * f16_to_f32(d[i / 256]);
  }
  if (t.name.find("q_proj") != std::string::npos || t.name.find("k_proj") != std::string::npos) {
    const int hd = c.head_dim();
    std::vector<float> hf(w.size());
    for (int h = 0; h < t.rows / hd; ++h)
      for (int i = 0; i < hd / 2; ++i)
        for (int tt = 0; tt < 2; ++tt)
          std::memcpy(&hf[static_cast<size_t>(h * hd + tt * hd / 2 + i) * t.cols],
                      &w[static_cast<size_t>(h * hd + 2 * i + tt) * t.cols], t.cols * 4);
    w = hf;
  }
  return w;
}

}  // namespace

TEST(Gguf, WriteReadRoundTrip) {
  test::TempDir tmp;
  GgufWriter w;
  w.set_u32("a.u32", 7);
  w.set_i32("a.i32", -5);
  w.set_u64("a.u64", 1ULL << 40);
  w.set_f32("a.f32", 0.25f);
  w.set_bool("a.bool", true);
  w.set_str("a.str", "héllo");
  w.set_str_array("a.strs", {"x", "", "yz"});
  w.set_f32_array("a.f32s", {1.5f, -2.0f});
  w.set_i32_array("a.i32s", {3, -4, 5});
  std::vector<float> t0 = test::random_vec(10, 1);
  std::vector<uint8_t> t1(3 * 66 * 2, 0xAB);
  w.add_tensor("t0", TensorType::F32, {10}, t0.data(), 40);
  w.add_tensor("t1", TensorType::TQ2_0, {512, 3}, t1.data(), t1.size());
  w.write(tmp / "x.gguf");
  GgufFile f(tmp / "x.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.find("a.u32")->as_u64(), 7u);
  EXPECT_EQ(std::get<int64_t>(f.find("a.i32")->v), -5);
  EXPECT_EQ(f.find("a.u64")->as_u64(), 1ULL << 40);
  EXPECT_EQ(f.find("a.f32")->as_f64(), 0.25);
  EXPECT_EQ(std::get<bool>(f.find("a.bool")->v), true);
  EXPECT_EQ(f.find("a.str")->as_str(), "héllo");
  EXPECT_EQ(std::get<std::vector<std::string>>(f.find("a.strs")->v), (std::vector<std::string>{"x", "", "yz"}));
  EXPECT_EQ(std::get<std::vector<int64_t>>(f.find("a.i32s")->v), (std::vector<int64_t>{3, -4, 5}));
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(0, std::memcmp(f.data(*f.tensor("t0")), t0.data(), 40));
  EXPECT_EQ(0, std::memcmp(f.data(*f.tensor("t1")), t1.data(), t1.size()));
  EXPECT_EQ(f.tensor("t1")->dims, (std::vector<uint64_t>{512, 3}));
  EXPECT_EQ(f.tensor("t1")->offset % 32, 0u);
}

class PackLossless : public ::testing::TestWithParam<std::tuple<int, const char*>> {};

TEST_P(PackLossless, TrainedWeightsSurvivePacking) {
  const auto [group, type] = GetParam();
  test::TempDir tmp;
  Config c = small_config(group, true);
  Model m(c, 1, 4);
  m.init_random(3);
  m.quantize_weights(0);
  PackOptions opt;
  opt.weight_type = parse_weight_type(type);
  opt.embd_type = TensorType::F32;
  write_model_gguf(tmp / "m.gguf", c, model_source(m), nullptr, opt);
  GgufFile f(tmp / "m.gguf");
  EXPECT_EQ(f.find("general.architecture")->as_str(), "trit");
  for (const auto& t : m.layout().tensors) {
    if (t.kind != TensorKind::BitLinear) {
      const GgufTensorInfo* gi = f.tensor(gguf_tensor_name(t.name));
      ASSERT_TRUE(gi) << t.name;
      EXPECT_EQ(0, std::memcmp(f.data(*gi), m.params.data() + t.offset, t.size() * 4)) << t.name;
      continue;
    }
    const auto w = decode_weight(f, t, c);
    EXPECT_EQ(0, std::memcmp(w.data(), m.effective_weight(t.offset), t.size() * 4)) << t.name << " " << type;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, PackLossless,
                         ::testing::Combine(::testing::Values(kScaleTensor, kScaleRow, 32, 64, 128, 256),
                                            ::testing::Values("trit2", "trit1")));

TEST(PackTQ, LosslessWhenScalesAllowAndRefusedOtherwise) {
  test::TempDir tmp;
  for (int group : {kScaleTensor, kScaleRow, 256, 64}) {
    Config c = small_config(group);
    Model m(c, 1, 4);
    m.init_random(4);
    m.quantize_weights(0);
    // Every scale rounded to fp16 first (as `trit init` makes them); with group 64 the scales inside
    // one 256-weight block still differ.
    const WeightSource s = model_source(m);
    const float* P = m.params.data();
    WeightSource r;
    r.ternary = [P, group](const TensorInfo& t, int8_t* codes, float* scales) {
      std::vector<float> wq(t.size());
      ASSERT_TRUE(ternary_quantize(P + t.offset, t.rows, t.cols, group, wq.data(), scales, codes));
      for (size_t i = 0; i < ternary_scale_count(t.rows, t.cols, group); ++i) scales[i] = f16_to_f32(f32_to_f16(scales[i]));
    };
    r.dense = s.dense;
    for (const char* type : {"tq2_0", "tq1_0"}) {
      PackOptions opt;
      opt.weight_type = parse_weight_type(type);
      const std::string path = tmp / (std::string(type) + std::to_string(group) + ".gguf");
      if (group == 64) {
        try {
          write_model_gguf(path, c, r, nullptr, opt);
          ADD_FAILURE() << "group 64 must be refused for " << type;
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("one scale per 256"), std::string::npos) << e.what();
        }
        EXPECT_FALSE(path_exists(path));
        continue;
      }
      write_model_gguf(path, c, r, nullptr, opt);
      GgufFile f(path);
      EXPECT_EQ(f.find("general.architecture")->as_str(), "llama");
      for (const auto& t : m.layout().tensors) {
        if (t.kind != TensorKind::BitLinear) continue;
        std::vector<int8_t> codes(t.size());
        std::vector<float> scales(ternary_scale_count(t.rows, t.cols, group));
        r.ternary(t, codes.data(), scales.data());
        const int g = group == kScaleTensor ? t.rows * t.cols : group == kScaleRow ? t.cols : group;
        const auto w = decode_weight(f, t, c);
        for (size_t i = 0; i < t.size(); ++i) ASSERT_EQ(w[i], codes[i] * scales[i / g]) << t.name << " " << i;
      }
    }
  }
  // Unrounded (trained) scales are not fp16-exact: refused with the tensor named.
  Config c = small_config(kScaleTensor);
  Model m(c, 1, 4);
  m.init_random(5);
  m.quantize_weights(0);
  PackOptions opt;
  opt.weight_type = TensorType::TQ2_0;
  try {
    write_model_gguf(tmp / "bad.gguf", c, model_source(m), nullptr, opt);
    ADD_FAILURE() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not exactly representable in fp16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("model.layers.0"), std::string::npos) << e.what();
  }
  opt.round_scales_fp16 = true;
  EXPECT_NO_THROW(write_model_gguf(tmp / "rounded.gguf", c, model_source(m), nullptr, opt));
}

TEST(Gguf, IndependentReaderAgrees) {
  test::TempDir tmp;
  Config c = small_config(64);
  Model m(c, 1, 4);
  m.init_random(6);
  m.quantize_weights(0);
  PackOptions opt;
  opt.embd_type = TensorType::I8;
  write_model_gguf(tmp / "m.gguf", c, model_source(m), nullptr, opt);
  const auto r = test::run_shell("node " + std::string(TRIT_SOURCE_DIR) + "/tests/js/read_gguf.mjs " + tmp / "m.gguf");
  ASSERT_EQ(r.exit_code, 0) << "the independent reader (npm @huggingface/gguf, installed by scripts/setup.sh) "
                               "failed:\n" << r.output;
  const auto js = nlohmann::json::parse(r.output);
  GgufFile f(tmp / "m.gguf");
  for (const auto& [k, v] : f.metadata()) {
    ASSERT_TRUE(js["metadata"].contains(k)) << k;
    const auto& jv = js["metadata"][k];
    if (auto p = std::get_if<std::string>(&v.v)) {
      EXPECT_EQ(jv.get<std::string>(), *p) << k;
    } else if (auto u = std::get_if<uint64_t>(&v.v)) {
      EXPECT_EQ(jv.get<uint64_t>(), *u) << k;
    } else if (auto i = std::get_if<int64_t>(&v.v)) {
      EXPECT_EQ(jv.get<int64_t>(), *i) << k;
    } else if (auto b = std::get_if<bool>(&v.v)) {
      EXPECT_EQ(jv.get<bool>(), *b) << k;
    } else if (auto d = std::get_if<double>(&v.v)) {
      EXPECT_FLOAT_EQ(jv.get<double>(), *d) << k;
    }
  }
  ASSERT_EQ(js["tensors"].size(), f.tensors().size());
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& t = f.tensors()[i];
    const auto& jt = js["tensors"][i];
    EXPECT_EQ(jt["name"].get<std::string>(), t.name);
    EXPECT_EQ(jt["dtype"].get<uint32_t>(), static_cast<uint32_t>(t.type)) << t.name;
    EXPECT_EQ(std::stoull(jt["offset"].get<std::string>()), t.offset) << t.name;
    ASSERT_EQ(jt["shape"].size(), t.dims.size());
    for (size_t d = 0; d < t.dims.size(); ++d) EXPECT_EQ(std::stoull(jt["shape"][d].get<std::string>()), t.dims[d]);
  }
}

TEST(Gguf, MalformedFilesAreRejectedWithClearErrors) {
  test::TempDir tmp;
  GgufWriter w;
  w.set_str("general.architecture", "trit");
  std::vector<float> a(64, 1.0f), b(64, 2.0f);
  w.add_tensor("a", TensorType::F32, {64}, a.data(), 256);
  w.add_tensor("b", TensorType::F32, {8, 8}, b.data(), 256);
  w.write(tmp / "good.gguf");
  const std::string good = read_file(tmp / "good.gguf");
  auto expect = [&](std::string bytes, const char* needle) {
    write_file_atomic(tmp / "bad.gguf", bytes);
    try {
      GgufFile f(tmp / "bad.gguf");
      ADD_FAILURE() << "accepted a file that should fail with '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto put64 = [](std::string& s, size_t at, uint64_t v) { std::memcpy(&s[at], &v, 8); };
  auto put32 = [](std::string& s, size_t at, uint32_t v) { std::memcpy(&s[at], &v, 4); };
  // Layout of good: header 24; kv: key(8+20) type(4) str(8+4); tensor a: name(8+1) nd(4) dim(8) type(4) off(8);
  // tensor b: name(8+1) nd(4) dims(16) type(4) off(8).
  const size_t kv_end = 24 + 8 + 20 + 4 + 8 + 4;
  const size_t ta = kv_end, ta_type = ta + 9 + 4 + 8, ta_off = ta_type + 4;
  const size_t tb = ta_off + 8, tb_nd = tb + 9, tb_type = tb_nd + 4 + 16, tb_off = tb_type + 4;
  std::string s;
  expect(good.substr(0, 10), "too short");
  s = good; s[0] = 'X'; expect(s, "bad magic");
  s = good; put32(s, 4, 9); expect(s, "version 9");
  s = good; put64(s, 8, 1ULL << 60); expect(s, "absurd");           // tensor count
  s = good; put64(s, 16, 1ULL << 60); expect(s, "absurd");          // metadata count
  s = good; put64(s, 24, 1ULL << 50); expect(s, "absurd length");   // key length
  s = good; put64(s, 24 + 8 + 20 + 4, 1ULL << 40); expect(s, "absurd length");  // string value length
  s = good; put32(s, 24 + 8 + 20, 77); expect(s, "unknown value type 77");
  s = good; put32(s, ta_type, 77); expect(s, "unknown or unsupported type 77");
  s = good; put32(s, ta_type, static_cast<uint32_t>(TensorType::TQ2_0)); expect(s, "multiple of 256");
  s = good; put32(s, tb_nd, 7); expect(s, "7 dims");
  s = good; put64(s, tb_nd + 4, 0); expect(s, "absurd dimension");
  s = good; put64(s, tb_off, 1ULL << 40); expect(s, "outside the file");
  s = good; put64(s, tb_off, 0); expect(s, "overlap");
  s = good; put64(s, tb_off, 260); expect(s, "not aligned");
  expect(good.substr(0, good.size() - 100), "outside the file");   // truncated data
  for (size_t cut : {27ul, 30ul, kv_end - 3, ta + 5, tb_type + 2}) expect(good.substr(0, cut), "truncated");
  (void)ta_off;
  // Random damage never crashes.
  Rng r(3);
  for (int i = 0; i < 500; ++i) {
    s = good;
    for (int k = 0; k < 4; ++k) s[r.below(std::min<size_t>(s.size(), 200))] = static_cast<char>(r.below(256));
    write_file_atomic(tmp / "fuzz.gguf", s);
    try {
      GgufFile f(tmp / "fuzz.gguf");
    } catch (const Error&) {
    }
  }
}
