// Training checkpoints: one file with everything a run needs to continue bit for bit.
// Layout (little-endian), documented in docs/checkpoint.md:
//   char magic[8] = "TRITCKPT"; u32 version = 1; u32 n_sections; u64 table_checksum
//   n_sections x { char tag[8]; u64 offset; u64 size; u64 checksum }
//   section data, each starting at a multiple of 64 bytes
// Sections: CONFIG (model config JSON), STATE (training state JSON: step, hyperparameters, RNG,
// data position, ...), TOKENIZR (SentencePiece model bytes, may be empty), PARAMS, ADAM_M, ADAM_V
// (fp32 arrays of the layout's size).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"

namespace trit {

struct Checkpoint {
  Config config;
  nlohmann::json state;
  std::string tokenizer;  // serialized SentencePiece model
  std::vector<float> params, adam_m, adam_v;
};

// Atomic: temp file, fsync, rename. Either the old file or the whole new one is at `path`.
void save_checkpoint(const std::string& path, const Config& config, const nlohmann::json& state,
                     const std::string& tokenizer, const float* params, const float* adam_m, const float* adam_v,
                     size_t n_params);
// Validates everything (magic, version, table, bounds, checksums, sizes against the config);
// throws trit::Error naming the file and the problem. with_optimizer=false skips ADAM_M/ADAM_V.
Checkpoint load_checkpoint(const std::string& path, bool with_optimizer = true);

// The newest checkpoint file in a run folder ("" if none).
std::string latest_checkpoint(const std::string& run_dir);
std::string checkpoint_path(const std::string& run_dir, long step);

}  // namespace trit
