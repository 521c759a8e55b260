#!/usr/bin/env bash
# Prepares a GPU verification run (on this machine, which has Node and nvcc but no GPU):
# builds the addon, the C++ tests and the kernel bench, compiles dist/, and packs what the
# GPU machine lacks into .gpu/ (git-ignored): node (the workplace's packing tool when present) and
# .gpu/bin.tar.xz holding prmkit.node, prmkit_native_tests and prmkit_gpu_bench (compressed:
# the device's whole upload, tree included, is limited to 64 MiB).
# Then, on the GPU machine, with .gpu and dist carried along:  bash bench/gpu/run.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
node node_modules/cmake-js/bin/cmake-js compile --config Release >/dev/null
cmake --build build --target prmkit_native_tests prmkit_gpu_bench >/dev/null
npx tsc -p tsconfig.json
mkdir -p .gpu
if ! bash ../shared/tools/gpu-pack.sh; then
  # the shared tool also registers .gpu/ in .git/info/exclude, which some checkouts lack;
  # .gpu/ is in .gitignore here, so pack node the same way without it
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >.gpu/node.xz
fi
stage=$(mktemp -d)
cp build/Release/prmkit.node build/test/native/prmkit_native_tests build/test/native/prmkit_gpu_bench "$stage/"
strip --strip-unneeded "$stage"/*
tar -cJf .gpu/bin.tar.xz -C "$stage" .
rm -rf "$stage" .gpu/bin
du -sh .gpu/* dist
