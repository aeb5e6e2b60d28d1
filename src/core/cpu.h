// CPU features that pick a kernel at run time, each queried once. (The engine's SIMD level, which
// needs several features together, is kernels/ternary_gemv.h's detect_simd.)
#pragma once

namespace trit {

inline bool cpu_has_avx512f() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
}

inline bool cpu_has_avx512vbmi() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") != 0;
  }();
  return has;
}

}  // namespace trit
