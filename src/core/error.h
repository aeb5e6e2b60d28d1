// Errors: every failure the user can cause is reported as trit::Error with a message that names
// the problem (file, field, layer, step); the CLI prints it and exits non-zero.
#pragma once
#include <cstdarg>
#include <stdexcept>
#include <string>

namespace trit {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// printf-style formatting into a std::string.
std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void fail(const std::string& message);

#define TRIT_CHECK(cond, ...)                     \
  do {                                            \
    if (!(cond)) ::trit::fail(::trit::strf(__VA_ARGS__)); \
  } while (0)

}  // namespace trit
