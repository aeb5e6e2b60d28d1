#include "io/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/file.h"

namespace trit {

void train_tokenizer(const TokenizerTrainOptions& o) {
  TRIT_CHECK(!o.inputs.empty(), "tokenizer train: no --input files");
  TRIT_CHECK(!o.out.empty(), "tokenizer train: --out FILE is required");
  TRIT_CHECK(o.vocab_size >= 260 && o.vocab_size <= 1000000,
             "tokenizer train: --vocab-size %d is impossible (byte fallback needs at least 260)", o.vocab_size);
  TRIT_CHECK(!is_directory(o.out), "tokenizer train: --out '%s' is a directory", o.out.c_str());
  size_t total = 0;
  for (const auto& f : o.inputs) {
    TRIT_CHECK(path_exists(f), "tokenizer train: input '%s' does not exist", f.c_str());
    TRIT_CHECK(!is_directory(f), "tokenizer train: input '%s' is a directory", f.c_str());
    total += std::filesystem::file_size(f);
  }
  TRIT_CHECK(total > 0, "tokenizer train: the corpus is empty");
  // SentencePiece writes <prefix>.model and <prefix>.vocab; train into a private temp prefix, then
  // move the model into place atomically.
  const std::string prefix = o.out + ".sptrain." + std::to_string(::getpid());
  std::string inputs;
  for (const auto& f : o.inputs) inputs += (inputs.empty() ? "" : ",") + f;
  std::vector<std::string> args = {
      "--minloglevel=2",
      "--input=" + inputs,
      "--model_prefix=" + prefix,
      "--model_type=bpe",
      "--vocab_size=" + std::to_string(o.vocab_size),
      "--byte_fallback=true",
      "--character_coverage=0.9995",
      "--normalization_rule_name=identity",
      "--remove_extra_whitespaces=false",
      "--split_digits=true",
      "--max_sentence_length=65536",
      "--input_sentence_size=" + std::to_string(o.max_sentences),
      "--shuffle_input_sentence=true",
      "--num_threads=" + std::to_string(o.threads),
      "--unk_id=0",
      "--bos_id=1",
      "--eos_id=2",
      "--pad_id=-1",
  };
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  // SentencePiece logs its whole command line (every input path) to stderr at INFO level whatever
  // --minloglevel says; keep stderr quiet while it runs and report its status instead.
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int devnull = ::open("/dev/null", O_WRONLY);
  if (saved >= 0 && devnull >= 0) ::dup2(devnull, 2);
  const auto status = sentencepiece::SentencePieceTrainer::Train(joined);
  if (saved >= 0 && devnull >= 0) ::dup2(saved, 2);
  if (saved >= 0) ::close(saved);
  if (devnull >= 0) ::close(devnull);
  std::remove((prefix + ".vocab").c_str());
  if (!status.ok()) {
    std::remove((prefix + ".model").c_str());
    fail("tokenizer train failed: " + status.ToString());
  }
  const std::string model = read_file(prefix + ".model");
  std::remove((prefix + ".model").c_str());
  write_file_atomic(o.out, model);
}

Tokenizer::Tokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_bytes(const std::string& serialized, const std::string& what) {
  Tokenizer t;
  TRIT_CHECK(!serialized.empty(), "%s holds no tokenizer", what.c_str());
  const auto st = t.sp_->LoadFromSerializedProto(serialized);
  TRIT_CHECK(st.ok(), "%s is not a valid SentencePiece model: %s", what.c_str(), st.ToString().c_str());
  t.bytes_ = serialized;
  return t;
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  return from_bytes(read_file(path), "tokenizer '" + path + "'");
}

std::vector<uint32_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto st = sp_->Encode(text, &ids);
  TRIT_CHECK(st.ok(), "tokenizer: cannot encode text: %s", st.ToString().c_str());
  return std::vector<uint32_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<uint32_t>& ids) const {
  std::vector<int> v(ids.begin(), ids.end());
  std::string out;
  const auto st = sp_->Decode(v, &out);
  TRIT_CHECK(st.ok(), "tokenizer: cannot decode: %s", st.ToString().c_str());
  return out;
}

std::string Tokenizer::piece(uint32_t id) const { return sp_->IdToPiece(static_cast<int>(id)); }
float Tokenizer::score(uint32_t id) const { return sp_->GetScore(static_cast<int>(id)); }

int Tokenizer::ggml_token_type(uint32_t id) const {
  const int i = static_cast<int>(id);
  if (sp_->IsUnknown(i)) return 2;
  if (sp_->IsControl(i)) return 3;
  if (sp_->IsUnused(i)) return 5;
  if (sp_->IsByte(i)) return 6;
  return 1;
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int Tokenizer::bos_id() const { return sp_->bos_id(); }
int Tokenizer::eos_id() const { return sp_->eos_id(); }

}  // namespace trit
