#!/usr/bin/env bash
# Fails when any C++ file differs from .clang-format's style.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.h' '*.cpp')
[ ${#files[@]} -eq 0 ] && exit 0
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "check_format: run 'clang-format -i' on the files above" >&2
  exit 1
fi
