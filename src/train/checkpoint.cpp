#include "train/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "model/layout.h"

namespace trit {

namespace {
constexpr char kMagic[8] = {'T', 'R', 'I', 'T', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kAlign = 64;

struct SectionEntry {
  char tag[8];
  uint64_t offset, size, checksum;
};
struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t n_sections;
  uint64_t table_checksum;
};
static_assert(sizeof(SectionEntry) == 32 && sizeof(FileHeader) == 24);

struct Blob {
  const char* tag;
  const void* data;
  size_t size;
};

void tag_copy(char dst[8], const char* src) {
  std::memset(dst, 0, 8);
  std::memcpy(dst, src, std::min<size_t>(8, std::strlen(src)));
}
}  // namespace

void save_checkpoint(const std::string& path, const Config& config, const nlohmann::json& state,
                     const std::string& tokenizer, const float* params, const float* adam_m, const float* adam_v,
                     size_t n_params) {
  const std::string cfg = config_to_json(config).dump();
  const std::string st = state.dump();
  const size_t pbytes = n_params * sizeof(float);
  const Blob blobs[] = {{"CONFIG", cfg.data(), cfg.size()},       {"STATE", st.data(), st.size()},
                        {"TOKENIZR", tokenizer.data(), tokenizer.size()}, {"PARAMS", params, pbytes},
                        {"ADAM_M", adam_m, pbytes},               {"ADAM_V", adam_v, pbytes}};
  const uint32_t n = sizeof(blobs) / sizeof(blobs[0]);
  std::vector<SectionEntry> table(n);
  uint64_t off = sizeof(FileHeader) + n * sizeof(SectionEntry);
  for (uint32_t i = 0; i < n; ++i) {
    off = (off + kAlign - 1) / kAlign * kAlign;
    tag_copy(table[i].tag, blobs[i].tag);
    table[i].offset = off;
    table[i].size = blobs[i].size;
    table[i].checksum = checksum64(blobs[i].data, blobs[i].size);
    off += blobs[i].size;
  }
  FileHeader h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.n_sections = n;
  h.table_checksum = checksum64(table.data(), n * sizeof(SectionEntry));

  AtomicFile f(path);
  f.write(&h, sizeof h);
  f.write(table.data(), n * sizeof(SectionEntry));
  static const char zeros[kAlign] = {};
  for (uint32_t i = 0; i < n; ++i) {
    f.write(zeros, table[i].offset - f.bytes_written());
    f.write(blobs[i].data, blobs[i].size);
  }
  f.commit();
}

Checkpoint load_checkpoint(const std::string& path, bool with_optimizer) {
  TRIT_CHECK(path_exists(path), "checkpoint '%s' does not exist", path.c_str());
  MappedFile file(path);
  const char* p = path.c_str();
  const size_t fsize = file.size();
  TRIT_CHECK(fsize >= sizeof(FileHeader), "checkpoint '%s' is truncated (%zu bytes)", p, fsize);
  FileHeader h;
  std::memcpy(&h, file.data(), sizeof h);
  TRIT_CHECK(std::memcmp(h.magic, kMagic, 8) == 0, "'%s' is not a trit checkpoint (bad magic)", p);
  TRIT_CHECK(h.version == kVersion, "checkpoint '%s' has unsupported version %u", p, h.version);
  TRIT_CHECK(h.n_sections > 0 && h.n_sections <= 64, "checkpoint '%s' is corrupt: %u sections", p, h.n_sections);
  const size_t table_bytes = h.n_sections * sizeof(SectionEntry);
  TRIT_CHECK(fsize >= sizeof(FileHeader) + table_bytes, "checkpoint '%s' is truncated inside its section table", p);
  std::vector<SectionEntry> table(h.n_sections);
  std::memcpy(table.data(), file.data() + sizeof(FileHeader), table_bytes);
  TRIT_CHECK(checksum64(table.data(), table_bytes) == h.table_checksum,
             "checkpoint '%s' is corrupt: section table checksum mismatch", p);

  auto section = [&](const char* tag, bool verify = false) -> std::string_view {
    char t[8];
    tag_copy(t, tag);
    for (const auto& e : table) {
      if (std::memcmp(e.tag, t, 8) != 0) continue;
      TRIT_CHECK(e.offset <= fsize && e.size <= fsize - e.offset,
                 "checkpoint '%s' is truncated: section %s needs bytes up to %llu, the file has %zu", p, tag,
                 static_cast<unsigned long long>(e.offset + e.size), fsize);
      const char* d = reinterpret_cast<const char*>(file.data() + e.offset);
      if (verify)
        TRIT_CHECK(checksum64(d, e.size) == e.checksum, "checkpoint '%s' is corrupt: section %s checksum mismatch", p,
                   tag);
      return {d, e.size};
    }
    fail(strf("checkpoint '%s' has no %s section", p, tag));
  };

  // Every section is bounds- and checksum-verified once, here, including those not loaded: a damaged
  // file is reported as such whatever the caller needs from it.
  for (const auto& e : table) {
    const std::string tag(e.tag, strnlen(e.tag, 8));
    section(tag.c_str(), true);
  }
  Checkpoint ck;
  try {
    ck.config = config_from_json(nlohmann::json::parse(section("CONFIG")));
    ck.state = nlohmann::json::parse(section("STATE"));
  } catch (const nlohmann::json::exception& e) {
    fail(strf("checkpoint '%s' is corrupt: %s", p, e.what()));
  }
  ck.tokenizer = std::string(section("TOKENIZR"));
  const size_t n = make_layout(ck.config).total;
  auto floats = [&](const char* tag, std::vector<float>& out) {
    std::string_view s = section(tag);
    TRIT_CHECK(s.size() == n * sizeof(float), "checkpoint '%s': section %s holds %zu bytes, the config needs %zu", p,
               tag, s.size(), n * sizeof(float));
    out.resize(n);
    std::memcpy(out.data(), s.data(), s.size());
  };
  floats("PARAMS", ck.params);
  if (with_optimizer) {
    floats("ADAM_M", ck.adam_m);
    floats("ADAM_V", ck.adam_v);
  }
  return ck;
}

std::string checkpoint_path(const std::string& run_dir, long step) {
  return run_dir + "/" + strf("ckpt-%08ld.trit", step);
}

std::string latest_checkpoint(const std::string& run_dir) {
  std::string best;
  if (!is_directory(run_dir)) return best;
  for (const auto& e : std::filesystem::directory_iterator(run_dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() == 18 && name.rfind("ckpt-", 0) == 0 && name.substr(13) == ".trit" && name > best) best = name;
  }
  return best.empty() ? best : run_dir + "/" + best;
}

}  // namespace trit
