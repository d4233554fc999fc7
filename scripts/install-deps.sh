#!/usr/bin/env bash
# Installs every build and test dependency of aprhost from Debian 12 packages.
# Called by the README set-up and by .ci/run; safe to run again (apt is idempotent).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git python3 python3-pip
  libboost-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev libpcre2-dev
  # APR v2 files: CRC32 (zlib) and LZ4 / zstd payload compression.
  zlib1g-dev liblz4-dev libzstd-dev
  # Vulkan: the backend's CMake option turns on when these are found; lavapipe runs it on the CPU.
  libvulkan-dev mesa-vulkan-drivers vulkan-tools glslang-dev glslang-tools
  # The Vulkan tests run once with the Khronos validation layer on (zero validation errors is a test).
  vulkan-validationlayers
  # `aprhost cbtop` draws with ncurses; its tests drive it in tmux like a person would.
  libncurses-dev tmux
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
