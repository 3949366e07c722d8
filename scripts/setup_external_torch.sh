#!/usr/bin/env bash
# Builds catimage against an external libtorch — the CUDA one inside a PyTorch install, as GPU
# clusters have it — on a machine that may lack Debian's dev packages.
#
#   bash scripts/setup_external_torch.sh download
#       On any Debian 12 machine with apt (no root needed): fetches the non-torch dependencies
#       as .deb files into .deb/ (git-ignored). Copy the checkout, .deb/ included, to the target.
#   bash scripts/setup_external_torch.sh build [BUILD_DIR]     (default BUILD_DIR: build-torch)
#       Unpacks .deb/*.deb into .deb/prefix (never into /), points pkg-config at it, and
#       configures and builds with CMAKE_PREFIX_PATH = that prefix + libtorch's CMake prefix:
#       TORCH_PREFIX if set, else the PyTorch found by python3 (torch.utils.cmake_prefix_path).
#       Where the dependencies are installed system-wide already, set USE_SYSTEM_DEPS=1;
#       TARGET="NAME ..." builds those targets only; CMAKE_EXTRA="-D..." adds configure options
#       (e.g. -DCUDAToolkit_ROOT=/usr/local/cuda where CMake does not find CUDA by itself);
#       KEEP_GOING=1 builds on past errors (to see all of them at once).
#
# libtorch 2.x brings fused SDPA (flash / memory-efficient attention) and CUDA; the code also
# builds against Debian's 1.13 (CI). PyTorch's libtorch links protobuf privately, so the
# sentencepiece shim is not needed there, but it is built and used all the same.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
debs=$root/.deb
PKGS=(libcli11-dev nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libsentencepiece-dev
      libsentencepiece0 libstb-dev libstb0 libgtest-dev)

case "${1:-}" in
download)
  mkdir -p "$debs"
  (cd "$debs" && apt-get download "${PKGS[@]}")
  ls -1 "$debs"/*.deb
  ;;
build)
  build=${2:-build-torch}
  torch_prefix=${TORCH_PREFIX:-}
  if [ -z "$torch_prefix" ]; then
    torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) || {
      echo "no libtorch: set TORCH_PREFIX (the folder holding Torch/TorchConfig.cmake) or install PyTorch" >&2
      exit 2
    }
  fi
  prefixes="$torch_prefix"
  if [ "${USE_SYSTEM_DEPS:-0}" != 1 ]; then
    ls "$debs"/*.deb >/dev/null 2>&1 || { echo "no .deb files in $debs: run '$0 download' first" >&2; exit 2; }
    dest=$debs/prefix
    rm -rf "$dest"
    mkdir -p "$dest"
    for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$dest"; done
    # pkg-config files say prefix=/usr: make them point at the unpacked copy.
    for pc in $(find "$dest" -name '*.pc'); do
      sed -i "s|^prefix=/usr\$|prefix=$dest/usr|" "$pc"
    done
    export PKG_CONFIG_PATH=$(find "$dest" -type d -name pkgconfig | paste -sd:)${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    prefixes="$dest/usr;$torch_prefix"
    export LD_LIBRARY_PATH=$dest/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefixes" \
    -DCMAKE_BUILD_RPATH="${dest:+$dest/usr/lib/x86_64-linux-gnu}" ${CMAKE_EXTRA:-}
  # shellcheck disable=SC2086 # TARGET is a list of names
  cmake --build "$build" -j"$(nproc)" ${TARGET:+--target $TARGET} ${KEEP_GOING:+-- -k 0}
  case "$build" in /*) ;; *) build=$root/$build ;; esac
  [ -n "${TARGET:-}" ] || echo "built: $build/catimage"
  echo "torch: $(grep -m1 'Torch_DIR:PATH' "$build/CMakeCache.txt" | cut -d= -f2)"
  ;;
*)
  sed -n 2,22p "$0"
  exit 2
  ;;
esac
