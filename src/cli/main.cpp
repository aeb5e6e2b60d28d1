// trit: train, pack and run ternary (1.58-bit) language models. One binary, one file per subcommand.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/args.h"
#include "core/error.h"

namespace {

struct Command {
  const char* name;
  trit::cli::CommandFn fn;
  const char* help;
};

constexpr Command kCommands[] = {
    {"tokenizer", trit::cli::cmd_tokenizer, "train a SentencePiece BPE tokenizer (trit tokenizer train ...)"},
    {"data", trit::cli::cmd_data, "tokenize text/JSONL into token shards with a validation split"},
    {"train", trit::cli::cmd_train, "train a ternary (or full-precision) model"},
    {"eval", trit::cli::cmd_eval, "validation loss of a checkpoint on a data folder"},
    {"generate", trit::cli::cmd_generate, "generate text from a GGUF model or a checkpoint"},
    {"chat", trit::cli::cmd_chat, "interactive chat with a GGUF model"},
    {"pack", trit::cli::cmd_pack, "pack a checkpoint into a GGUF model (2-bit, 1.6-bit, TQ2_0/TQ1_0, bf16)"},
    {"init", trit::cli::cmd_init, "write a random-weight model of any shape (trit init --random)"},
    {"info", trit::cli::cmd_info, "tensor types, bytes and totals of a GGUF model"},
    {"bench", trit::cli::cmd_bench, "benchmarks (trit bench train ...)"},
};

void usage() {
  std::printf("trit: train, shrink, check and run ternary (1.58-bit) language models on the CPU\n\n"
              "usage: trit <command> [options]   (trit <command> --help for its options)\n\ncommands:\n");
  for (const auto& c : kCommands) std::printf("  %-10s %s\n", c.name, c.help);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage();
    return argc < 2 ? 1 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.fn(argc - 1, argv + 1);
    } catch (const trit::Error& e) {
      // Messages that already name the command ("trit bench: ...") are not prefixed twice.
      const std::string self = std::string("trit ") + c.name + ": ";
      const char* msg = e.what();
      if (std::strncmp(msg, self.c_str(), self.size()) == 0) msg += self.size();
      std::fprintf(stderr, "\ntrit %s: error: %s\n", c.name, msg);
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "\ntrit %s: error: out of memory\n", c.name);
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "\ntrit %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "trit: unknown command '%s'\n\n", argv[1]);
  usage();
  return 2;
}
