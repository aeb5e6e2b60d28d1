// Tokenizers: SentencePiece BPE with byte fallback (Debian's libsentencepiece), trained here or
// loaded from a .model file or from the bytes a checkpoint carries.
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

class Tokenizer {
 public:
  Tokenizer();
  ~Tokenizer();
  static Tokenizer from_file(const std::string& path);
  static Tokenizer from_bytes(const std::string& serialized, const std::string& what);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  std::vector<uint32_t> encode(const std::string& text) const;
  std::string decode(const std::vector<uint32_t>& ids) const;
  std::string piece(uint32_t id) const;  // the piece as SentencePiece writes it ("\u2581the", "<0x0A>")
  float score(uint32_t id) const;
  // ggml's tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control, 5 unused, 6 byte.
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
