// Token shards and batches.
//
// A data folder (written by `trit data`) holds
//   meta.json        {"format":"trit-tokens","version":1,"vocab_size":V,"train":[files],"val":[files],
//                     "tokenizer":"tokenizer.model" (optional), "bos_id", "eos_id"}
//   train_NNN.bin, val_NNN.bin   shards: a 32-byte header then the tokens, little-endian:
//       char magic[8] = "TRITTOKS"; u32 version = 1; u32 bytes_per_token (2 or 4);
//       u64 n_tokens; u32 vocab_size; u32 reserved = 0
//   tokenizer.model  the SentencePiece model that produced the ids
//
// Training batches are windows of T+1 tokens that start every T tokens within a shard; each epoch
// visits every window once in an order shuffled by (seed, epoch). The position (epoch, cursor) is
// all a checkpoint needs to continue the same sequence of batches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/file.h"

namespace trit {

constexpr char kShardMagic[8] = {'T', 'R', 'I', 'T', 'T', 'O', 'K', 'S'};

// Atomically writes one shard. Ids must be < vocab_size.
void write_token_shard(const std::string& path, const std::vector<uint32_t>& tokens, uint32_t vocab_size);

class TokenShard {
 public:
  // Validates header, size and every id against vocab_size; throws trit::Error naming the file.
  TokenShard(const std::string& path, uint32_t vocab_size);
  size_t size() const { return n_; }
  uint32_t at(size_t i) const;

 private:
  MappedFile file_;
  const uint8_t* tokens_ = nullptr;
  size_t n_ = 0;
  uint32_t width_ = 2;
};

struct DataPosition {
  uint64_t epoch = 0, cursor = 0;
};

class TokenDataset {
 public:
  // Opens DIR/meta.json and its shards. Throws trit::Error for a missing folder, meta or shard,
  // empty or truncated shards, and splits too short for a T+1 window.
  TokenDataset(const std::string& dir, int seq_len, uint64_t seed);
  uint32_t vocab_size() const { return vocab_; }
  const std::string& tokenizer_path() const { return tokenizer_path_; }  // empty if none
  size_t train_tokens() const;
  size_t val_tokens() const;
  size_t train_windows() const { return train_windows_.size(); }
  size_t val_windows() const { return val_windows_.size(); }

  // Fills inputs/targets [B, T] with the next B training windows and advances the position.
  void next_train_batch(int B, int32_t* inputs, int32_t* targets);
  // Validation window i (mod the number of windows), for deterministic evaluation.
  void val_window(size_t i, int32_t* inputs, int32_t* targets) const;

  DataPosition position() const { return pos_; }
  void set_position(DataPosition p);

 private:
  struct Window {
    uint32_t shard;
    uint64_t start;
  };
  void fill(const std::vector<TokenShard>& shards, Window w, int32_t* in, int32_t* tgt) const;
  void shuffle_for_epoch();

  int T_;
  uint64_t seed_;
  uint32_t vocab_ = 0;
  std::string tokenizer_path_;
  std::vector<TokenShard> train_, val_;
  std::vector<Window> train_windows_, val_windows_;
  std::vector<uint32_t> order_;
  uint64_t order_epoch_ = UINT64_MAX;
  DataPosition pos_;
};

}  // namespace trit
