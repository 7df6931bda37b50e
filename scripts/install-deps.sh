#!/usr/bin/env bash
# Installs the Debian packages dlcc builds and tests with, only those missing.
# Runs `apt-get update` only when something has to be installed. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libdnnl-dev
  # Debian's oneDNN is built with its OpenCL GPU runtime: its CMake package looks for OpenCL,
  # which libdnnl-dev only recommends.
  ocl-icd-opencl-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  libyaml-dev libpng-dev libjpeg62-turbo-dev
  libcjson-dev
  libcmocka-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: these packages are missing and you are not root: ${missing[*]}" >&2
    echo "install-deps: run 'apt-get install ${missing[*]}' as root, then retry." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
