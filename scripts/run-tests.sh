#!/usr/bin/env bash
# Runs aprhost's whole test suite (README command 2): brings the build up to date, then CTest.
#
#   scripts/run-tests.sh [BUILD_DIR] [extra ctest arguments ...]
#
# BUILD_DIR defaults to build/ (as configured by README command 1 / scripts/quickstart.sh). Tests that need the
# real model (models/, from scripts/fetch-models.sh) skip with a reason when it is absent.
# Parallelism: APRHOST_TEST_JOBS (default 2). Exit status: CTest's (0 = every test passed).
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$repo_dir/build"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  build_dir="$1"
  shift
fi

if [ ! -f "$build_dir/CTestTestfile.cmake" ]; then
  echo "run-tests: error: $build_dir is not a configured aprhost build; configure first:" >&2
  echo "  cmake -S $repo_dir -B $build_dir -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build $build_dir" >&2
  exit 1
fi

# Stale binaries would test old code, and the packaging test installs the tree, which needs every target built.
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure -j"${APRHOST_TEST_JOBS:-2}" "$@"
