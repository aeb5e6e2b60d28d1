// trit tokenizer train|encode
#include <cstdio>
#include <cstring>

#include "cli/args.h"
#include "core/error.h"
#include "core/file.h"
#include "core/timer.h"
#include "io/tokenizer.h"

namespace trit::cli {

int cmd_tokenizer(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "train") != 0 && std::strcmp(argv[1], "encode") != 0)) {
    std::printf("usage: trit tokenizer train --input FILE... --vocab-size N --out FILE\n"
                "       trit tokenizer encode --model FILE --text TEXT\n");
    return argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) ? 0 : 2;
  }
  if (!std::strcmp(argv[1], "encode")) {
    Args a("trit tokenizer encode", "Print the token ids and pieces of a text.",
           {{"model", "FILE", "tokenizer .model file"}, {"text", "TEXT", "text to encode"}});
    if (!a.parse(argc - 1, argv + 1)) return 0;
    TRIT_CHECK(a.has("model") && a.has("text"), "trit tokenizer encode: --model and --text are required");
    Tokenizer t = Tokenizer::from_file(a.str("model"));
    for (uint32_t id : t.encode(a.str("text"))) std::printf("%u\t%s\n", id, t.piece(id).c_str());
    return 0;
  }
  Args a("trit tokenizer train",
         "Train a SentencePiece BPE tokenizer with byte fallback (ids 0 <unk>, 1 <s>, 2 </s>).",
         {{"input", "FILE...", "text files to learn from (one sentence per line is best)"},
          {"vocab-size", "N", "vocabulary size (default 8192)"},
          {"out", "FILE", "the .model file to write"},
          {"threads", "N", "threads (default 2)"},
          {"max-sentences", "N", "lines sampled for training (default 2000000)"}});
  if (!a.parse(argc - 1, argv + 1)) return 0;
  TokenizerTrainOptions o;
  o.inputs = a.list("input");
  o.vocab_size = static_cast<int>(a.integer("vocab-size", 8192));
  o.out = a.str("out");
  o.threads = static_cast<int>(a.integer("threads", 2));
  o.max_sentences = a.integer("max-sentences", 2000000);
  const double t0 = now_seconds();
  train_tokenizer(o);
  Tokenizer t = Tokenizer::from_file(o.out);
  std::fprintf(stderr, "tokenizer: %d pieces written to %s in %.1f s\n", t.vocab_size(), o.out.c_str(),
               now_seconds() - t0);
  return 0;
}

}  // namespace trit::cli
