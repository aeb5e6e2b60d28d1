// A WeightSource over a training Model (what `trit pack` does with a checkpoint's parameters).
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "io/model_file.h"
#include "kernels/quant.h"
#include "train/model.h"

namespace trit::test {

inline WeightSource model_source(const Model& m) {
  WeightSource s;
  const int group = m.config().group_size;
  s.ternary = [&m, group](const TensorInfo& t, int8_t* codes, float* scales) {
    std::vector<float> wq(t.size());
    ASSERT_TRUE(ternary_quantize(m.params.data() + t.offset, t.rows, t.cols, group, wq.data(), scales, codes));
  };
  s.dense = [&m](const TensorInfo& t, float* v) {
    const float* src = t.kind == TensorKind::BitLinear ? m.effective_weight(t.offset) : m.params.data() + t.offset;
    std::memcpy(v, src, t.size() * 4);
  };
  return s;
}

}  // namespace trit::test
