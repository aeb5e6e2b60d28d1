// Parsers of files survive damaged input: thousands of random byte flips and truncations of a valid
// checkpoint and token shard either load or raise trit::Error — never crash or hang. (CI also runs
// this suite under AddressSanitizer and UndefinedBehaviorSanitizer.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "model/layout.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/data.h"

using namespace trit;

namespace {

template <typename Load>
void fuzz_file(const std::string& good, const std::string& path, uint64_t seed, int rounds, Load load) {
  Rng r(seed);
  int loaded = 0, rejected = 0;
  for (int i = 0; i < rounds; ++i) {
    std::string bytes = good;
    const int kind = static_cast<int>(r.below(3));
    if (kind == 0) {
      bytes.resize(r.below(good.size()));
    } else {
      const int flips = 1 + static_cast<int>(r.below(8));
      // Favour the header and tables, where the parsers make decisions.
      for (int f = 0; f < flips; ++f) {
        const size_t at = r.below(2) ? r.below(std::min<size_t>(good.size(), 512)) : r.below(good.size());
        bytes[at] = static_cast<char>(r.below(256));
      }
    }
    write_file_atomic(path, bytes);
    try {
      load(path);
      ++loaded;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, rounds / 2);
  (void)loaded;
}

}  // namespace

TEST(Fuzz, CheckpointLoader) {
  test::TempDir tmp;
  Config c = preset_config("nano");
  c.num_hidden_layers = 1;
  c.vocab_size = 64;
  const size_t n = make_layout(c).total;
  auto p = test::random_vec(n, 1);
  save_checkpoint(tmp / "good.trit", c, nlohmann::json{{"step", 3}}, "tokenizer bytes", p.data(), p.data(), p.data(),
                  n);
  fuzz_file(read_file(tmp / "good.trit"), tmp / "fuzz.trit", 7, 400,
            [](const std::string& f) { load_checkpoint(f); });
}

TEST(Fuzz, TokenShardAndDataFolder) {
  test::TempDir tmp;
  std::vector<uint32_t> toks(3000);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<uint32_t>(i * 7 % 300);
  write_token_shard(tmp / "good.bin", toks, 300);
  fuzz_file(read_file(tmp / "good.bin"), tmp / "fuzz.bin", 9, 400,
            [](const std::string& f) { TokenShard s(f, 300); });
  // meta.json damage
  make_directory(tmp / "d");
  write_token_shard(tmp / "d/train_000.bin", toks, 300);
  write_token_shard(tmp / "d/val_000.bin", toks, 300);
  const std::string meta = nlohmann::json{{"format", "trit-tokens"}, {"version", 1}, {"vocab_size", 300},
                                          {"train", {"train_000.bin"}}, {"val", {"val_000.bin"}}}
                               .dump();
  fuzz_file(meta, tmp / "d/meta.json", 11, 300, [&](const std::string&) { TokenDataset d(tmp / "d", 16, 1); });
}
