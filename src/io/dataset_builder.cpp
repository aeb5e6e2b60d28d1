#include "io/dataset_builder.h"

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "io/tokenizer.h"
#include "train/data.h"

namespace trit {

static bool is_jsonl(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension().string();
  return ext == ".jsonl" || ext == ".ndjson";
}

DatasetBuildResult build_dataset(const DatasetBuildOptions& o) {
  TRIT_CHECK(!o.inputs.empty(), "data: no --input files");
  TRIT_CHECK(!o.out_dir.empty(), "data: --out DIR is required");
  TRIT_CHECK(o.val_fraction > 0.0 && o.val_fraction < 1.0, "data: --val-fraction must be in (0, 1)");
  TRIT_CHECK(!path_exists(o.out_dir) || is_directory(o.out_dir), "data: output folder '%s' exists and is a file",
             o.out_dir.c_str());
  Tokenizer tok = Tokenizer::from_file(o.tokenizer);

  // Documents, in input order.
  std::vector<std::string> docs;
  for (const auto& path : o.inputs) {
    const std::string text = read_file(path);
    if (is_jsonl(path)) {
      std::istringstream in(text);
      std::string line;
      long lineno = 0;
      while (std::getline(in, line)) {
        ++lineno;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          fail(strf("data: %s line %ld is not valid JSON: %s", path.c_str(), lineno, e.what()));
        }
        TRIT_CHECK(j.is_object() && j.contains(o.text_field) && j[o.text_field].is_string(),
                   "data: %s line %ld has no string field '%s'", path.c_str(), lineno, o.text_field.c_str());
        docs.push_back(j[o.text_field].get<std::string>());
      }
    } else if (!text.empty()) {
      docs.push_back(text);
    }
  }
  size_t nonempty = 0;
  for (const auto& d : docs) nonempty += d.find_first_not_of(" \t\r\n") != std::string::npos;
  TRIT_CHECK(nonempty > 0, "data: the corpus is empty (no text in %zu input file(s))", o.inputs.size());

  // Every k-th document goes to validation; a single document is split at 1 - val_fraction.
  std::vector<uint32_t> train, val;
  const int eos = tok.eos_id();
  const size_t k = std::max<size_t>(2, static_cast<size_t>(1.0 / o.val_fraction + 0.5));
  for (size_t i = 0; i < docs.size(); ++i) {
    std::vector<uint32_t> ids = tok.encode(docs[i]);
    if (ids.empty()) continue;
    if (eos >= 0) ids.push_back(static_cast<uint32_t>(eos));
    if (docs.size() == 1) {
      const size_t cut = static_cast<size_t>(ids.size() * (1.0 - o.val_fraction));
      train.insert(train.end(), ids.begin(), ids.begin() + cut);
      val.insert(val.end(), ids.begin() + cut, ids.end());
    } else {
      auto& dst = (i % k == k - 1) ? val : train;
      dst.insert(dst.end(), ids.begin(), ids.end());
    }
  }
  TRIT_CHECK(!train.empty() && !val.empty(), "data: the corpus is too small to split into training and validation");

  make_directory(o.out_dir);
  const uint32_t V = static_cast<uint32_t>(tok.vocab_size());
  auto write_split = [&](const std::vector<uint32_t>& toks, const char* name) {
    nlohmann::json files = nlohmann::json::array();
    for (size_t start = 0, i = 0; start < toks.size(); start += o.shard_tokens, ++i) {
      const size_t end = std::min(toks.size(), start + o.shard_tokens);
      const std::string fname = strf("%s_%03zu.bin", name, i);
      write_token_shard(o.out_dir + "/" + fname, std::vector<uint32_t>(toks.begin() + start, toks.begin() + end), V);
      files.push_back(fname);
    }
    return files;
  };
  nlohmann::json meta;
  meta["format"] = "trit-tokens";
  meta["version"] = 1;
  meta["vocab_size"] = V;
  meta["train"] = write_split(train, "train");
  meta["val"] = write_split(val, "val");
  meta["train_tokens"] = train.size();
  meta["val_tokens"] = val.size();
  meta["documents"] = docs.size();
  meta["bos_id"] = tok.bos_id();
  meta["eos_id"] = tok.eos_id();
  meta["tokenizer"] = "tokenizer.model";
  write_file_atomic(o.out_dir + "/tokenizer.model", tok.serialized());
  write_file_atomic(o.out_dir + "/meta.json", meta.dump(2) + "\n");
  return {docs.size(), train.size(), val.size()};
}

}  // namespace trit
