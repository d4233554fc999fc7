#!/usr/bin/env bash
# README command 1 on a fresh Debian 12 machine: install the dependencies, build aprhost, fetch SmolLM2-135M-Instruct
# and generate text with it.
#
#   scripts/quickstart.sh ["your prompt"]
#
# It runs exactly:
#   scripts/install-deps.sh
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build
#   scripts/fetch-models.sh
#   build/bin/aprhost run models/SmolLM2-135M-Instruct.Q4_1.gguf -p "<prompt>" -n 64 --chat
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

prompt="${1:-What is the capital of France? Answer in one sentence.}"

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
scripts/fetch-models.sh
build/bin/aprhost run models/SmolLM2-135M-Instruct.Q4_1.gguf -p "$prompt" -n 64 --chat
