#!/usr/bin/env bash
# GPU verification in one go (bench/gpu/NOTES.md). Runs on the GPU machine from the repo
# root, with .gpu/ and dist/ from bench/gpu/pack.sh (carried: [".gpu", "dist"]); writes at most 8 files to $OUT
# (default bench/results/gpu):
#   device.txt        nvidia-smi, nvcc and torch versions
#   native_tests.txt  the C++ tests: cuda vs cpu vs reference, poisoned outputs (200 random cases)
#   sanitizer.txt     compute-sanitizer memcheck, then initcheck, over the C++ tests
#   node_check.json   the JS API (backend 'cuda', resident handles, 'auto', allocator) vs cpu
#   kernel.json       prmkit_gpu_bench: copy bandwidth, fused kernel, host->result crossover
#   torch.json        torch_ref.py: PyTorch eager, same math, same inputs
#   gpu.json, report.txt  report.py: the joined table and the three GPU targets
# The C++ tests and the bench are rebuilt from source for sm_90 when cmake and nvcc are
# there (the image has both); otherwise the packed binaries (.gpu/bin.tar.xz) are used.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/results/gpu}
mkdir -p "$OUT"
status=0
step() {
  local name=$1
  shift
  echo "== $name"
  local t0=$SECONDS
  "$@"
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || status=1
}

xz -dc .gpu/node.xz >/tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
{
  nvidia-smi -L
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  nvcc --version | tail -2
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
  node --version
  nproc
} >"$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

mkdir -p /tmp/prmkit-bin && tar -xJf .gpu/bin.tar.xz -C /tmp/prmkit-bin
BIN=/tmp/prmkit-bin
if command -v cmake >/dev/null && command -v nvcc >/dev/null; then
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  if cmake -S . -B /tmp/prmkit-gpu "${gen[@]}" -DPRMKIT_BUILD_ADDON=OFF -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CUDA_ARCHITECTURES=90 >/tmp/prmkit-gpu.log 2>&1 &&
    cmake --build /tmp/prmkit-gpu --target prmkit_native_tests prmkit_gpu_bench --parallel >>/tmp/prmkit-gpu.log 2>&1; then
    BIN=/tmp/prmkit-gpu/test/native
    echo "built the C++ tests and the bench here for sm_90"
  else
    tail -20 /tmp/prmkit-gpu.log
    echo "building here failed; using the packed binaries"
  fi
fi

step native_tests bash -c "$BIN/prmkit_native_tests --random 200 >'$OUT/native_tests.txt' 2>&1; rc=\$?; tail -4 '$OUT/native_tests.txt'; exit \$rc"
step sanitizer bash -c "{ compute-sanitizer --tool memcheck --error-exitcode 3 $BIN/prmkit_native_tests --random 10 &&
  compute-sanitizer --tool initcheck --error-exitcode 3 $BIN/prmkit_native_tests --random 5; } >'$OUT/sanitizer.txt' 2>&1;
  rc=\$?; grep -E 'ERROR SUMMARY|PASSED|FAILED' '$OUT/sanitizer.txt'; exit \$rc"
step node_check env PRMKIT_NATIVE_PATH=/tmp/prmkit-bin/prmkit.node node --expose-gc bench/gpu/node_check.mjs --out "$OUT/node_check.json"
step kernel_bench "$BIN/prmkit_gpu_bench" --out "$OUT/kernel.json"
step torch_ref python3 bench/gpu/torch_ref.py --out "$OUT/torch.json"
step report bash -c "python3 bench/gpu/report.py '$OUT/kernel.json' '$OUT/torch.json' --out '$OUT/gpu.json' | tee '$OUT/report.txt'"
echo "status: $status (0 = every step passed)"
exit $status
