// `trit data`: text files (one document each) and JSONL files (one document per line, in a text
// field) -> token shards with a held-out validation split (see train/data.h for the format).
#pragma once
#include <string>
#include <vector>

namespace trit {

struct DatasetBuildOptions {
  std::string tokenizer;            // .model file
  std::vector<std::string> inputs;  // *.jsonl / *.json lines are JSONL, anything else plain text
  std::string out_dir;
  std::string text_field = "text";
  double val_fraction = 0.05;       // of the documents (at least one), taken evenly across the corpus
  size_t shard_tokens = 50'000'000;
};

struct DatasetBuildResult {
  size_t documents = 0, train_tokens = 0, val_tokens = 0;
};

DatasetBuildResult build_dataset(const DatasetBuildOptions& o);

}  // namespace trit
