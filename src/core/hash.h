// 64-bit FNV-1a over bytes, eight at a time: checksums of checkpoint sections. Not cryptographic;
// it catches truncation and bit rot.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace trit {

inline uint64_t checksum64(const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t h = 0xcbf29ce484222325ULL ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

}  // namespace trit
