// trit data --tokenizer FILE --input FILE... --out DIR
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "core/error.h"
#include "core/file.h"
#include "core/timer.h"
#include "io/dataset_builder.h"

namespace trit::cli {

int cmd_data(int argc, char** argv) {
  Args a("trit data",
         "Tokenize text files (one document each; a folder means its files in name order) and JSONL files (one\n"
         "document per line) into memory-mapped token shards with a held-out validation split.",
         {{"tokenizer", "FILE", "SentencePiece .model file (from `trit tokenizer train`)"},
          {"input", "FILE...", "text, .jsonl files or folders"},
          {"out", "DIR", "output data folder"},
          {"text-field", "NAME", "JSONL field holding the text (default text)"},
          {"val-fraction", "X", "fraction of documents held out for validation (default 0.05)"},
          {"shard-tokens", "N", "tokens per shard file (default 50000000)"}});
  if (!a.parse(argc, argv)) return 0;
  DatasetBuildOptions o;
  TRIT_CHECK(a.has("tokenizer"), "trit data: --tokenizer FILE is required");
  o.tokenizer = a.str("tokenizer");
  for (const auto& in : a.list("input")) {
    if (is_directory(in)) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::directory_iterator(in))
        if (e.is_regular_file()) files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      o.inputs.insert(o.inputs.end(), files.begin(), files.end());
    } else {
      TRIT_CHECK(path_exists(in), "trit data: input '%s' does not exist", in.c_str());
      o.inputs.push_back(in);
    }
  }
  o.out_dir = a.str("out");
  o.text_field = a.str("text-field", "text");
  o.val_fraction = a.number("val-fraction", 0.05);
  o.shard_tokens = static_cast<size_t>(a.integer("shard-tokens", 50'000'000));
  TRIT_CHECK(o.shard_tokens > 0, "trit data: --shard-tokens must be positive");
  const double t0 = now_seconds();
  const auto r = build_dataset(o);
  std::fprintf(stderr, "data: %zu documents -> %zu train + %zu validation tokens in %s (%.1f s)\n", r.documents,
               r.train_tokens, r.val_tokens, o.out_dir.c_str(), now_seconds() - t0);
  return 0;
}

}  // namespace trit::cli
