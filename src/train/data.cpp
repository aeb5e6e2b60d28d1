#include "train/data.h"

#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"

namespace trit {

namespace {
struct ShardHeader {
  char magic[8];
  uint32_t version;
  uint32_t bytes_per_token;
  uint64_t n_tokens;
  uint32_t vocab_size;
  uint32_t reserved;
};
static_assert(sizeof(ShardHeader) == 32);
}  // namespace

void write_token_shard(const std::string& path, const std::vector<uint32_t>& tokens, uint32_t vocab_size) {
  ShardHeader h{};
  std::memcpy(h.magic, kShardMagic, 8);
  h.version = 1;
  h.bytes_per_token = vocab_size <= 65536 ? 2 : 4;
  h.n_tokens = tokens.size();
  h.vocab_size = vocab_size;
  AtomicFile f(path);
  f.write(&h, sizeof h);
  if (h.bytes_per_token == 2) {
    std::vector<uint16_t> t16(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      TRIT_CHECK(tokens[i] < vocab_size, "token id %u is outside the vocabulary of %u", tokens[i], vocab_size);
      t16[i] = static_cast<uint16_t>(tokens[i]);
    }
    f.write(t16.data(), t16.size() * 2);
  } else {
    f.write(tokens.data(), tokens.size() * 4);
  }
  f.commit();
}

TokenShard::TokenShard(const std::string& path, uint32_t vocab_size) : file_(path) {
  const char* p = path.c_str();
  TRIT_CHECK(file_.size() >= sizeof(ShardHeader), "shard '%s' is truncated: %zu bytes, shorter than its header", p,
             file_.size());
  ShardHeader h;
  std::memcpy(&h, file_.data(), sizeof h);
  TRIT_CHECK(std::memcmp(h.magic, kShardMagic, 8) == 0, "'%s' is not a trit token shard (bad magic)", p);
  TRIT_CHECK(h.version == 1, "shard '%s' has unsupported version %u", p, h.version);
  TRIT_CHECK(h.bytes_per_token == 2 || h.bytes_per_token == 4, "shard '%s' has %u bytes per token (expected 2 or 4)",
             p, h.bytes_per_token);
  TRIT_CHECK(h.n_tokens > 0, "shard '%s' is empty (0 tokens)", p);
  TRIT_CHECK(h.vocab_size == vocab_size, "shard '%s' was written for vocabulary %u, the data folder says %u", p,
             h.vocab_size, vocab_size);
  const uint64_t avail = (file_.size() - sizeof(ShardHeader)) / h.bytes_per_token;
  TRIT_CHECK(avail == h.n_tokens, "shard '%s' is truncated or damaged: header says %llu tokens, file holds %llu", p,
             static_cast<unsigned long long>(h.n_tokens), static_cast<unsigned long long>(avail));
  width_ = h.bytes_per_token;
  n_ = h.n_tokens;
  tokens_ = file_.data() + sizeof(ShardHeader);
  for (size_t i = 0; i < n_; ++i)
    TRIT_CHECK(at(i) < vocab_size, "shard '%s': token %zu has id %u, outside the vocabulary of %u", p, i, at(i),
               vocab_size);
}

uint32_t TokenShard::at(size_t i) const {
  if (width_ == 2) {
    uint16_t v;
    std::memcpy(&v, tokens_ + 2 * i, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, tokens_ + 4 * i, 4);
  return v;
}

TokenDataset::TokenDataset(const std::string& dir, int seq_len, uint64_t seed) : T_(seq_len), seed_(seed) {
  TRIT_CHECK(is_directory(dir), "data folder '%s' does not exist (make one with `trit data`)", dir.c_str());
  const std::string meta_path = dir + "/meta.json";
  TRIT_CHECK(path_exists(meta_path), "data folder '%s' has no meta.json (make it with `trit data`)", dir.c_str());
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_file(meta_path));
    TRIT_CHECK(meta.value("format", "") == "trit-tokens", "'%s' is not a trit data description", meta_path.c_str());
    vocab_ = meta.at("vocab_size").get<uint32_t>();
    for (const auto& f : meta.at("train")) train_.emplace_back(dir + "/" + f.get<std::string>(), vocab_);
    for (const auto& f : meta.at("val")) val_.emplace_back(dir + "/" + f.get<std::string>(), vocab_);
    if (meta.contains("tokenizer") && meta["tokenizer"].is_string())
      tokenizer_path_ = dir + "/" + meta["tokenizer"].get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail(strf("'%s' is malformed: %s", meta_path.c_str(), e.what()));
  }
  TRIT_CHECK(!train_.empty(), "data folder '%s' lists no training shards", dir.c_str());
  TRIT_CHECK(!val_.empty(), "data folder '%s' lists no validation shards", dir.c_str());
  auto windows = [&](const std::vector<TokenShard>& shards, std::vector<Window>& out) {
    for (uint32_t s = 0; s < shards.size(); ++s)
      for (uint64_t start = 0; start + T_ + 1 <= shards[s].size(); start += T_) out.push_back({s, start});
  };
  windows(train_, train_windows_);
  windows(val_, val_windows_);
  TRIT_CHECK(!train_windows_.empty(), "the training split of '%s' has %zu tokens: too few for one sequence of %d+1",
             dir.c_str(), train_tokens(), T_);
  TRIT_CHECK(!val_windows_.empty(), "the validation split of '%s' has %zu tokens: too few for one sequence of %d+1",
             dir.c_str(), val_tokens(), T_);
}

size_t TokenDataset::train_tokens() const {
  size_t n = 0;
  for (const auto& s : train_) n += s.size();
  return n;
}

size_t TokenDataset::val_tokens() const {
  size_t n = 0;
  for (const auto& s : val_) n += s.size();
  return n;
}

void TokenDataset::shuffle_for_epoch() {
  if (order_epoch_ == pos_.epoch) return;
  order_.resize(train_windows_.size());
  for (uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
  Rng rng(seed_ * 0x9e3779b97f4a7c15ULL + pos_.epoch + 1);
  for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.below(i)]);
  order_epoch_ = pos_.epoch;
}

void TokenDataset::fill(const std::vector<TokenShard>& shards, Window w, int32_t* in, int32_t* tgt) const {
  const TokenShard& s = shards[w.shard];
  for (int t = 0; t < T_; ++t) {
    in[t] = static_cast<int32_t>(s.at(w.start + t));
    tgt[t] = static_cast<int32_t>(s.at(w.start + t + 1));
  }
}

void TokenDataset::next_train_batch(int B, int32_t* inputs, int32_t* targets) {
  for (int b = 0; b < B; ++b) {
    if (pos_.cursor >= train_windows_.size()) {
      pos_.epoch++;
      pos_.cursor = 0;
    }
    shuffle_for_epoch();
    fill(train_, train_windows_[order_[pos_.cursor]], inputs + static_cast<size_t>(b) * T_,
         targets + static_cast<size_t>(b) * T_);
    pos_.cursor++;
  }
}

void TokenDataset::val_window(size_t i, int32_t* inputs, int32_t* targets) const {
  fill(val_, val_windows_[i % val_windows_.size()], inputs, targets);
}

void TokenDataset::set_position(DataPosition p) {
  TRIT_CHECK(p.cursor <= train_windows_.size(),
             "the checkpoint's data position (window %llu) is beyond this data's %zu windows: is it the same data?",
             static_cast<unsigned long long>(p.cursor), train_windows_.size());
  pos_ = p;
}

}  // namespace trit
