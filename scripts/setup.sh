#!/usr/bin/env bash
# Installs every Debian package that building, testing and the demo need (run as root on Debian 12),
# then configures and builds trit in ./build. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libopenblas-openmp-dev libsentencepiece-dev nlohmann-json3-dev
          libgtest-dev)
# npm brings the demo's corpus and the tests' independent oracles (any working node + npm will do).
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Test oracles: independent implementations the tests compare against (tests/js/package.json).
if [ ! -d tests/js/node_modules/@huggingface/gguf ]; then
  echo "setup: installing test oracles from npm (tests/js)"
  npm install --prefix tests/js --no-audit --no-fund --silent >/dev/null
fi

build_type=${TRIT_BUILD_TYPE:-Release}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" ${TRIT_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)" 2>&1 | grep -E "error|warning: unused" || true
test -x build/trit || { echo "setup: build failed" >&2; exit 1; }
echo "setup: built build/trit"
