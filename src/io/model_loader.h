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
  // The serialized SentencePiece model (Tokenizer::from_bytes): trit.tokenizer.spm, or else rebuilt
  // from the tokenizer.ggml.* vocabulary of a file written by llama.cpp; empty if neither can be had.
  std::string tokenizer_spm;
  std::string tokenizer_missing;  // why tokenizer_spm is empty (the model still runs by token ids)
};

LoadedModel load_model_gguf(const std::string& path);
Config config_from_gguf(const GgufFile& f);

}  // namespace trit
