#include "cli/args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace trit::cli {

Args::Args(const std::string& command, const std::string& summary, std::vector<OptionSpec> specs)
    : command_(command), summary_(summary), specs_(std::move(specs)) {}

const OptionSpec* Args::find(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

void Args::print_help() const {
  std::printf("usage: %s [options]\n%s\n\noptions:\n", command_.c_str(), summary_.c_str());
  for (const auto& s : specs_) {
    std::string left = (s.alias.empty() ? "  " : "  -" + s.alias + ", ") + "--" + s.name +
                       (s.value.empty() ? "" : " " + s.value);
    std::printf("%-34s %s\n", left.c_str(), s.help.c_str());
  }
  std::printf("  %-32s %s\n", "--help", "show this help");
}

bool Args::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      print_help();
      return false;
    }
    if (a.size() == 2 && a[0] == '-' && a[1] != '-') {
      for (const auto& s : specs_)
        if (!s.alias.empty() && s.alias == a.substr(1)) a = "--" + s.name;
      TRIT_CHECK(a.rfind("--", 0) == 0, "%s: unknown option %s (see %s --help)", command_.c_str(), a.c_str(),
                 command_.c_str());
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), inline_value;
      bool has_inline = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
      const OptionSpec* s = find(name);
      TRIT_CHECK(s, "%s: unknown option --%s (see %s --help)", command_.c_str(), name.c_str(), command_.c_str());
      auto& vals = values_[name];
      const bool multi = s->value.size() > 3 && s->value.substr(s->value.size() - 3) == "...";
      TRIT_CHECK(multi || vals.empty(), "%s: --%s given more than once", command_.c_str(), name.c_str());
      if (s->value.empty()) {
        TRIT_CHECK(!has_inline, "%s: --%s takes no value", command_.c_str(), name.c_str());
        vals.push_back("1");
        continue;
      }
      if (has_inline) {
        vals.push_back(inline_value);
        continue;
      }
      int taken = 0;
      auto is_option = [&](const std::string& v) {
        if (v.rfind("--", 0) == 0 && v.size() > 2) return true;
        if (v.size() == 2 && v[0] == '-')
          for (const auto& s2 : specs_)
            if (!s2.alias.empty() && s2.alias == v.substr(1)) return true;
        return false;
      };
      while (i + 1 < argc && !is_option(argv[i + 1])) {
        vals.push_back(argv[++i]);
        ++taken;
        if (!multi) break;
      }
      TRIT_CHECK(taken > 0, "%s: --%s needs a value (%s)", command_.c_str(), name.c_str(), s->value.c_str());
    } else {
      positional_.push_back(a);
    }
  }
  return true;
}

std::string Args::str(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? def : it->second.back();
}

std::vector<std::string> Args::list(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

long Args::integer(const std::string& name, long def) const {
  if (!has(name)) return def;
  const std::string v = str(name);
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v.c_str(), &end, 10);
  TRIT_CHECK(!v.empty() && *end == '\0' && errno == 0, "%s: --%s expects an integer, got '%s'", command_.c_str(),
             name.c_str(), v.c_str());
  return x;
}

double Args::number(const std::string& name, double def) const {
  if (!has(name)) return def;
  const std::string v = str(name);
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  TRIT_CHECK(!v.empty() && *end == '\0' && errno == 0, "%s: --%s expects a number, got '%s'", command_.c_str(),
             name.c_str(), v.c_str());
  return x;
}

}  // namespace trit::cli
