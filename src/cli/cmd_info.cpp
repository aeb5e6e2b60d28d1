// trit info model.gguf: what a GGUF model holds, tensor by tensor, and its size against BF16.
#include <cstdio>
#include <map>

#include "cli/args.h"
#include "core/error.h"
#include "io/gguf.h"

namespace trit::cli {

int cmd_info(int argc, char** argv) {
  Args a("trit info", "List a GGUF model's metadata and every tensor's type and bytes, with totals and the size\n"
                      "of the same model in BF16.",
         {{"", "MODEL", "a .gguf file"}, {"tensors", "", "list every tensor (default: a summary by type)"}});
  if (!a.parse(argc, argv)) return 0;
  TRIT_CHECK(a.positional().size() == 1, "trit info: give one MODEL file");
  GgufFile f(a.positional()[0]);
  std::printf("%s: GGUF v%u, %zu metadata keys, %zu tensors, %.2f MB\n", f.path().c_str(), f.version(),
              f.metadata().size(), f.tensors().size(), f.file_size() / 1e6);
  for (const auto& k : f.key_order()) {
    const GgufValue& v = f.metadata().at(k);
    if (k.rfind("tokenizer.ggml.", 0) == 0 && v.type == GgufValueType::ARRAY) continue;
    if (k == "trit.tokenizer.spm") continue;
    std::string s;
    if (auto p = std::get_if<std::string>(&v.v)) s = *p;
    else if (auto p = std::get_if<uint64_t>(&v.v)) s = std::to_string(*p);
    else if (auto p = std::get_if<int64_t>(&v.v)) s = std::to_string(*p);
    else if (auto p = std::get_if<double>(&v.v)) s = strf("%g", *p);
    else if (auto p = std::get_if<bool>(&v.v)) s = *p ? "true" : "false";
    else s = "[array]";
    std::printf("  %-44s %s\n", k.c_str(), s.c_str());
  }
  if (auto t = f.find("tokenizer.ggml.tokens")) {
    std::printf("  %-44s %zu pieces\n", "tokenizer.ggml.tokens", std::get<std::vector<std::string>>(t->v).size());
  }
  struct Sum {
    uint64_t tensors = 0, bytes = 0, elements = 0;
  };
  std::map<std::string, Sum> by_type;
  uint64_t total = 0, weights = 0, scale_bytes = 0;
  const bool list = a.flag("tensors");
  if (list) std::printf("\n  %-36s %-6s %-22s %14s %8s\n", "tensor", "type", "dims", "bytes", "bits/w");
  for (const auto& t : f.tensors()) {
    const bool is_scale = t.name.size() > 6 && t.name.compare(t.name.size() - 6, 6, ".scale") == 0;
    std::string dims;
    for (size_t i = 0; i < t.dims.size(); ++i) dims += (i ? " x " : "") + std::to_string(t.dims[i]);
    if (list)
      std::printf("  %-36s %-6s %-22s %14llu %8.3f\n", t.name.c_str(), tensor_type_name(t.type), dims.c_str(),
                  static_cast<unsigned long long>(t.bytes), 8.0 * t.bytes / t.elements());
    total += t.bytes;
    if (is_scale) {
      scale_bytes += t.bytes;
      continue;
    }
    auto& s = by_type[tensor_type_name(t.type)];
    s.tensors++;
    s.bytes += t.bytes;
    s.elements += t.elements();
    weights += t.elements();
  }
  std::printf("\n  %-8s %8s %16s %16s %8s\n", "type", "tensors", "weights", "bytes", "bits/w");
  for (const auto& [name, s] : by_type)
    std::printf("  %-8s %8llu %16llu %16llu %8.3f\n", name.c_str(), static_cast<unsigned long long>(s.tensors),
                static_cast<unsigned long long>(s.elements), static_cast<unsigned long long>(s.bytes),
                8.0 * s.bytes / s.elements);
  if (scale_bytes) std::printf("  %-8s %8s %16s %16llu\n", "scales", "", "", static_cast<unsigned long long>(scale_bytes));
  const uint64_t bf16 = weights * 2;
  const double ratio = static_cast<double>(bf16) / total;
  std::printf("\n  total tensor bytes %.2f MB (%llu weights, %.3f bits/weight); the same model in BF16: %.2f MB "
              "(%.2fx %s)\n",
              total / 1e6, static_cast<unsigned long long>(weights), 8.0 * total / weights, bf16 / 1e6,
              ratio >= 1.0 ? ratio : 1.0 / ratio, ratio >= 1.0 ? "larger" : "smaller");
  return 0;
}

}  // namespace trit::cli
