// Tokenizers: SentencePiece BPE with byte fallback (Debian's libsentencepiece), trained here or
// loaded from a .model file or from the bytes a checkpoint carries, or rebuilt from the vocabulary a
// GGUF file written by llama.cpp carries as tokenizer.ggml.* metadata.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace trit {

struct TokenizerTrainOptions {
  std::vector<std::string> inputs;
  int vocab_size = 8192;
  std::string out;            // the .model file to write (atomically)
  int threads = 2;
  long max_sentences = 2000000;  // SentencePiece samples at most this many lines
};

// Trains a BPE model with byte fallback; ids: 0 <unk>, 1 <s>, 2 </s>. Throws trit::Error for missing
// or empty inputs and impossible vocabulary sizes.
void train_tokenizer(const TokenizerTrainOptions& opts);

// A SentencePiece vocabulary as GGUF metadata carries it (tokenizer.ggml.*): what llama.cpp's
// converter writes instead of the serialized model. Ids are -1 where the file names none.
struct GgmlVocab {
  std::string model = "llama";       // tokenizer.ggml.model; only "llama" (SentencePiece) is rebuilt
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens
  std::vector<float> scores;         // tokenizer.ggml.scores, one per token (BPE merge priority)
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type, one per token: ggml's 1..6 (below)
  int unk_id = -1;  // tokenizer.ggml.unknown_token_id; -1: the one token of type 2
  int bos_id = -1;  // tokenizer.ggml.bos_token_id; must be a control token (type 3)
  int eos_id = -1;  // tokenizer.ggml.eos_token_id; must be a control token (type 3)
  int pad_id = -1;  // tokenizer.ggml.padding_token_id; kept only if it is a control token
  bool add_space_prefix = true;  // tokenizer.ggml.add_space_prefix (SentencePiece's add_dummy_prefix)
};

class Tokenizer {
 public:
  Tokenizer();
  ~Tokenizer();
  static Tokenizer from_file(const std::string& path);
  static Tokenizer from_bytes(const std::string& serialized, const std::string& what);
  // Rebuilds the SentencePiece BPE model (identity normalization, whitespace kept, byte fallback when
  // the vocabulary has byte tokens) that the vocabulary came from. Throws trit::Error naming `what`
  // and the problem: a tokenizer model other than "llama", no tokens, array lengths that differ,
  // ids out of range, token types outside 1..6, no unknown token, special tokens of the wrong type.
  static Tokenizer from_ggml_vocab(const GgmlVocab& vocab, const std::string& what);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  std::vector<uint32_t> encode(const std::string& text) const;
  std::string decode(const std::vector<uint32_t>& ids) const;
  std::string piece(uint32_t id) const;  // the piece as SentencePiece writes it ("\u2581the", "<0x0A>")
  float score(uint32_t id) const;
  // ggml's tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
  // (libsentencepiece 0.1.97 cannot tell user-defined pieces apart, so they are reported as 1).
  int ggml_token_type(uint32_t id) const;
  int vocab_size() const;
  int bos_id() const;
  int eos_id() const;
  const std::string& serialized() const { return bytes_; }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string bytes_;
};

}  // namespace trit
