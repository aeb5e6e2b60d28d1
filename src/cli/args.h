// Command-line options of one subcommand: declared with help text, parsed strictly (an unknown
// option, a missing value or a malformed number is an error that names it).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace trit::cli {

struct OptionSpec {
  std::string name;     // without dashes, e.g. "steps"; "" for positionals
  std::string value;    // "" for a flag, else a placeholder such as "N" or "FILE..."
  std::string help;
  std::string alias = "";  // a one-letter short form, e.g. "m" for -m
};

class Args {
 public:
  // argv[0] is the subcommand's name (e.g. "trit train"). Returns false if --help was printed.
  Args(const std::string& command, const std::string& summary, std::vector<OptionSpec> specs);
  bool parse(int argc, char** argv);
  void print_help() const;

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string str(const std::string& name, const std::string& def = "") const;
  std::vector<std::string> list(const std::string& name) const;
  long integer(const std::string& name, long def) const;
  double number(const std::string& name, double def) const;
  bool flag(const std::string& name) const { return has(name); }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  const OptionSpec* find(const std::string& name) const;
  std::string command_, summary_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

using CommandFn = int (*)(int argc, char** argv);
int cmd_tokenizer(int argc, char** argv);
int cmd_data(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_pack(int argc, char** argv);
int cmd_init(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_chat(int argc, char** argv);

}  // namespace trit::cli
