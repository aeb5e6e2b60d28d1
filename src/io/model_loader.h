// GGUF model file -> the engine's weights, pointing into the mapped file (nothing is copied).
// Validates names, types and shapes against the metadata; errors name the tensor and the problem.
#pragma once
#include <memory>
#include <string>

#include "infer/engine.h"
#include "io/gguf.h"

namespace trit {

struct LoadedModel {
  std::shared_ptr<GgufFile> file;
  EngineWeights weights;
  std::string tokenizer_spm;  // trit.tokenizer.spm, empty if absent
};

LoadedModel load_model_gguf(const std::string& path);
Config config_from_gguf(const GgufFile& f);

}  // namespace trit
