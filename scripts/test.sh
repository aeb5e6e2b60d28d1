#!/usr/bin/env bash
# The test command: set up a fresh Debian 12 machine (packages, build), then run every test, once
# in the optimised build and once under AddressSanitizer + UndefinedBehaviorSanitizer.
# TRIT_SKIP_SANITIZE=1 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
# Build errors must fail loudly here (setup.sh keeps its log short).
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 900)
if [ "${TRIT_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "test: again under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build-asan -DTRIT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ctest --output-on-failure -j"$jobs" --timeout 1800)
fi
