#!/usr/bin/env bash
# Makes .deps/usr: the Debian packages of the libraries nddr builds against
# (yaml-cpp, GoogleTest, CLI11, nlohmann-json, stb, zlib, libjpeg-turbo,
# protobuf and its compiler), unpacked, for a
# machine that lacks them and cannot install anything (the GPU machine). Run
# it here; carry .deps to that machine (it is git-ignored) and point
# NDDR_DEPS_PREFIX at .deps/usr (scripts/check_gpu.sh does).
#   bash scripts/gpu_deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libyaml-cpp-dev libyaml-cpp0.7 libgtest-dev nlohmann-json3-dev libcli11-dev libstb-dev
  zlib1g-dev zlib1g libjpeg62-turbo-dev libjpeg62-turbo libprotobuf-dev libprotobuf32 protobuf-compiler libprotoc32)
rm -rf .deps
mkdir -p .deps/debs
(cd .deps/debs && apt-get download "${packages[@]}" >/dev/null)
for deb in .deps/debs/*.deb; do dpkg -x "$deb" .deps; done
# zlib1g installs its library under /lib; keep every library in one place.
if [ -d .deps/lib/x86_64-linux-gnu ]; then
  cp -a .deps/lib/x86_64-linux-gnu/. .deps/usr/lib/x86_64-linux-gnu/
  rm -rf .deps/lib
fi
# libz.so (from zlib1g-dev) points at /lib/...; make it relative.
ln -sf libz.so.1 .deps/usr/lib/x86_64-linux-gnu/libz.so
rm -rf .deps/debs .deps/usr/share
du -sh .deps
