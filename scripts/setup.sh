#!/usr/bin/env bash
# Installs catimage's dependencies (Debian packages) and builds it into ./build.
# Usage: bash scripts/setup.sh            (needs root or sudo for apt-get)
#        SKIP_APT=1 bash scripts/setup.sh (dependencies already installed)
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(build-essential cmake ninja-build pkg-config
      libtorch-dev libcli11-dev nlohmann-json3-dev libsentencepiece-dev sentencepiece
      libstb-dev libspdlog-dev libgtest-dev libopenblas0-openmp libcairo2-dev)
if [ "${SKIP_APT:-0}" != 1 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  missing=()
  for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "built: $(pwd)/build/catimage"
