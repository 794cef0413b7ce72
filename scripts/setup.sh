#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for deepmetric: system packages, npm packages, native build.
# Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch (CPU, oneDNN) and a fast BLAS: without libopenblas0-pthread libtorch falls back to
# Debian's reference BLAS, ~20x slower on matmul. python3-numpy reads safetensors in an interop test;
# fonts-dejavu-core gives the PNG charts their text. libgloo-dev: torch.distributed's gloo headers
# for the addon's process groups. python3-torch/-torchvision/-h5py/-onnx make reference files
# (pretrained weights, ONNX checks) inside the tests; chromium drives the serve page test; cpplint
# checks native/ in `npm run lint`. libjpeg62-turbo-dev: the addon's JPEG fast path.
packages=(libtorch-dev libopenblas0-pthread python3-numpy fonts-dejavu-core g++ make python3
  libgloo-dev python3-torch python3-torchvision python3-h5py python3-onnx chromium cpplint
  libjpeg62-turbo-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ -z "${LIBTORCH:-}" ] && [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# npm ci also builds the native addon (the package's install script runs node-gyp).
# onnxruntime-node's install script would download CUDA files; its CPU runtime ships in the package.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
[ -f native/build/Release/deepmetric.node ] || npm run build:native
npx tsc -p .
