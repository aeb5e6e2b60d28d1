#!/usr/bin/env bash
# The test command: set up a fresh Debian 12 machine (packages, build), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Build errors must fail loudly here (setup.sh filters the build log).
cmake --build build -j"$(nproc)"
cd build && ctest --output-on-failure -j"$(nproc)" --timeout 900
