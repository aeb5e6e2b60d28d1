#include "io/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <fcntl.h>
#include <unistd.h>

#include <bit>
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

namespace {

// Protocol-buffer wire format, written by hand because Debian's libsentencepiece ships no proto
// headers: each field is a key varint (field number << 3 | wire type) followed by a varint (type 0),
// a length-prefixed byte string or nested message (type 2), or 4 little-endian bytes (type 5).
class ProtoWriter {
 public:
  void varint_field(int field, uint64_t value) {
    key(field, 0);
    varint(value);
  }
  // int32 fields encode negative values as their 64-bit two's complement (10 bytes), as protobuf does.
  void int32_field(int field, int32_t value) { varint_field(field, static_cast<uint64_t>(static_cast<int64_t>(value))); }
  void bool_field(int field, bool value) { varint_field(field, value ? 1 : 0); }
  void bytes_field(int field, const std::string& bytes) {
    key(field, 2);
    varint(bytes.size());
    out_ += bytes;
  }
  void message_field(int field, const ProtoWriter& message) { bytes_field(field, message.out_); }
  void float_field(int field, float value) {
    key(field, 5);
    const uint32_t bits = std::bit_cast<uint32_t>(value);
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((bits >> (8 * i)) & 0xFF);
  }
  const std::string& bytes() const { return out_; }

 private:
  void key(int field, int wire_type) { varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire_type)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  std::string out_;
};

// ggml's token types are SentencePiece's piece types, number for number.
enum GgmlTokenType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// Field numbers of sentencepiece_model.proto (ModelProto, its SentencePiece, TrainerSpec and
// NormalizerSpec messages).
namespace spm_field {
constexpr int kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr int kPiecePiece = 1, kPieceScore = 2, kPieceType = 3;
constexpr int kTrainerModelType = 3, kTrainerVocabSize = 4, kTrainerByteFallback = 35, kTrainerUnkId = 40,
              kTrainerBosId = 41, kTrainerEosId = 42, kTrainerPadId = 43, kTrainerUnkPiece = 45,
              kTrainerBosPiece = 46, kTrainerEosPiece = 47, kTrainerPadPiece = 48;
constexpr int kNormalizerName = 1, kNormalizerAddDummyPrefix = 3, kNormalizerRemoveExtraWhitespaces = 4,
              kNormalizerEscapeWhitespaces = 5;
constexpr int kModelTypeBpe = 2;
}  // namespace spm_field

}  // namespace

Tokenizer Tokenizer::from_ggml_vocab(const GgmlVocab& v, const std::string& what) {
  const char* w = what.c_str();
  TRIT_CHECK(v.model == "llama",
             "%s: tokenizer.ggml.model is '%s'; trit rebuilds only SentencePiece (\"llama\") vocabularies, so this "
             "model runs by token ids only", w, v.model.c_str());
  const size_t n = v.tokens.size();
  TRIT_CHECK(n > 0, "%s: tokenizer.ggml.tokens is empty", w);
  TRIT_CHECK(n <= 0x7FFFFFFF, "%s: tokenizer.ggml.tokens has %zu tokens, more than SentencePiece holds", w, n);
  TRIT_CHECK(v.scores.size() == n, "%s: tokenizer.ggml.scores has %zu entries for %zu tokens", w, v.scores.size(), n);
  TRIT_CHECK(v.token_types.size() == n, "%s: tokenizer.ggml.token_type has %zu entries for %zu tokens", w,
             v.token_types.size(), n);
  const int N = static_cast<int>(n);
  auto check_id = [&](int id, const char* key) {
    TRIT_CHECK(id >= -1 && id < N, "%s: tokenizer.ggml.%s %d is out of range (%d tokens)", w, key, id, N);
  };
  check_id(v.unk_id, "unknown_token_id");
  check_id(v.bos_id, "bos_token_id");
  check_id(v.eos_id, "eos_token_id");
  check_id(v.pad_id, "padding_token_id");

  int unk_id = -1, byte_tokens = 0;
  for (int i = 0; i < N; ++i) {
    const int type = v.token_types[i];
    TRIT_CHECK(type >= kNormal && type <= kByte, "%s: token %d has tokenizer.ggml.token_type %d (valid: 1..6)", w, i,
               type);
    TRIT_CHECK(!v.tokens[i].empty(), "%s: token %d is an empty string", w, i);
    if (type == kUnknown) {
      TRIT_CHECK(unk_id < 0, "%s: tokens %d and %d are both of the unknown type (2); SentencePiece has one", w,
                 unk_id, i);
      unk_id = i;
    }
    if (type == kByte) ++byte_tokens;
  }
  TRIT_CHECK(unk_id >= 0, "%s: no token has the unknown type (2); SentencePiece needs one", w);
  TRIT_CHECK(v.unk_id < 0 || v.unk_id == unk_id,
             "%s: tokenizer.ggml.unknown_token_id is %d, but the token of the unknown type (2) is %d", w, v.unk_id,
             unk_id);
  // SentencePiece finds <s> and </s> by piece and answers their ids only for control pieces.
  for (const auto& [id, key] : {std::pair{v.bos_id, "bos_token_id"}, std::pair{v.eos_id, "eos_token_id"}})
    TRIT_CHECK(id < 0 || v.token_types[id] == kControl,
               "%s: tokenizer.ggml.%s %d ('%s') has token type %d; SentencePiece needs a control token (3) there", w,
               key, id, v.tokens[id].c_str(), v.token_types[id]);
  // Byte fallback replaces a character outside the vocabulary by its UTF-8 bytes, so SentencePiece
  // wants all 256 byte pieces or none.
  TRIT_CHECK(byte_tokens == 0 || byte_tokens == 256,
             "%s: the vocabulary has %d byte tokens (type 6); byte fallback needs all 256, <0x00> to <0xFF>", w,
             byte_tokens);
  // Padding is never produced by encode; a padding id that names a non-control token (often <unk>)
  // is left out rather than refused.
  const bool has_pad = v.pad_id >= 0 && v.token_types[v.pad_id] == kControl;

  namespace f = spm_field;
  ProtoWriter model;
  for (int i = 0; i < N; ++i) {
    ProtoWriter piece;
    piece.bytes_field(f::kPiecePiece, v.tokens[i]);
    piece.float_field(f::kPieceScore, v.scores[i]);
    piece.varint_field(f::kPieceType, static_cast<uint64_t>(v.token_types[i]));
    model.message_field(f::kModelPieces, piece);
  }
  ProtoWriter trainer;
  trainer.varint_field(f::kTrainerModelType, f::kModelTypeBpe);
  trainer.int32_field(f::kTrainerVocabSize, N);
  trainer.bool_field(f::kTrainerByteFallback, byte_tokens > 0);
  trainer.int32_field(f::kTrainerUnkId, unk_id);
  trainer.int32_field(f::kTrainerBosId, v.bos_id);
  trainer.int32_field(f::kTrainerEosId, v.eos_id);
  trainer.int32_field(f::kTrainerPadId, has_pad ? v.pad_id : -1);
  trainer.bytes_field(f::kTrainerUnkPiece, v.tokens[unk_id]);
  if (v.bos_id >= 0) trainer.bytes_field(f::kTrainerBosPiece, v.tokens[v.bos_id]);
  if (v.eos_id >= 0) trainer.bytes_field(f::kTrainerEosPiece, v.tokens[v.eos_id]);
  if (has_pad) trainer.bytes_field(f::kTrainerPadPiece, v.tokens[v.pad_id]);
  model.message_field(f::kModelTrainerSpec, trainer);
  // llama.cpp's SentencePiece tokenizer normalizes nothing and keeps every space, as Llama's own
  // tokenizer.model (and trit's trainer) say: identity rule, whitespace escaped to U+2581, not collapsed.
  ProtoWriter normalizer;
  normalizer.bytes_field(f::kNormalizerName, "identity");
  normalizer.bool_field(f::kNormalizerAddDummyPrefix, v.add_space_prefix);
  normalizer.bool_field(f::kNormalizerRemoveExtraWhitespaces, false);
  normalizer.bool_field(f::kNormalizerEscapeWhitespaces, true);
  model.message_field(f::kModelNormalizerSpec, normalizer);
  return from_bytes(model.bytes(), what + " (vocabulary from tokenizer.ggml.*)");
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
