#!/usr/bin/env bash
# The test command: bootstrap, build, formatting check, then the whole
# GoogleTest suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/check_format.sh
ctest --test-dir "${NDDR_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
