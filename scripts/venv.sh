#!/usr/bin/env bash
# Makes (once) and prints the path of the one virtual environment that holds
# every PyPI tool nddr's scripts use: torch 2.11.0 (the GPU machine's LibTorch
# 2.x, CUDA build), onnxruntime, tensorboard and safetensors. Debian's own
# /usr/bin/python3 stays untouched.
#   venv=$(bash scripts/venv.sh) || echo "no PyPI tools"
# NDDR_VENV overrides the location. Exits 1 with a message on stderr when the
# environment cannot be made (no registry, no disk space); callers decide
# whether that is fatal.
set -euo pipefail
venv=${NDDR_VENV:-$HOME/.cache/nddr/venv}
packages=(torch==2.11.0 onnxruntime tensorboard safetensors)
stamp="$venv/.nddr-packages"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  echo "$venv"
  exit 0
fi
{
  echo "venv: installing ${packages[*]} into $venv"
  /usr/bin/python3 -m venv "$venv" &&
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
} >&2 || {
  echo "venv: could not install ${packages[*]} into $venv (no PyPI access or no disk space?)" >&2
  exit 1
}
echo "${packages[*]}" >"$stamp"
echo "$venv"
