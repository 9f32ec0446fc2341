#!/usr/bin/env bash
# Runs the CUDA tests and the bench table on a machine with an NVIDIA GPU, from prebuilt
# binaries (the device machine need not have Rust). Build them where cargo is:
#
#   export CARGO_TARGET_DIR=target-gpu
#   cargo test  -p zkinfer-gpu --features cuda --no-run
#   cargo test  -p zkinfer-prover --features cuda --lib --no-run
#   cargo build -p zkinfer-benches --features cuda --release --bin zkinfer-bench
#
# then on the device:  bash gpu/run-on-device.sh [TARGET_DIR] [-- zkinfer-bench options]
# (default TARGET_DIR: target-gpu; default bench options: --backend cuda --max-log 24
# --prove-min-log 16 --prove-max-log 20). NVRTC comes from $ZKINFER_NVRTC_LIB, LD_LIBRARY_PATH,
# the loader cache, or the pip wheel (.ci/install-nvrtc.sh); the driver from the system.
# A test that finds no device prints "skipped: ..." — here that is an error, so it fails.
set -uo pipefail

dir="${1:-target-gpu}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
bench_args=("$@")
[[ ${#bench_args[@]} -eq 0 ]] && bench_args=(--backend cuda --max-log 24 --prove-min-log 16 --prove-max-log 20)

here="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${ZKINFER_NVRTC_LIB:-}" ]] && ! ldconfig -p 2>/dev/null | grep -q libnvrtc; then
  eval "$(bash "$here/.ci/install-nvrtc.sh" --exports)" || echo "run-on-device: no NVRTC found" >&2
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "run-on-device: nvidia-smi not found" >&2

status=0
run_tests() {
  local name="$1" bin
  bin="$(ls -t "$dir"/debug/deps/"$name"-* 2>/dev/null | grep -v '\.d$' | head -1)"
  if [[ -z "$bin" ]]; then
    echo "run-on-device: no test binary $name in $dir/debug/deps (build it first, see header)" >&2
    status=1
    return
  fi
  echo "== $name ($bin)"
  local log
  log="$(mktemp)"
  "$bin" --nocapture --test-threads 1 "${@:2}" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [[ $rc -ne 0 ]]; then status=1; fi
  if grep -q "^skipped:" "$log"; then
    echo "run-on-device: $name skipped tests on a GPU machine" >&2
    status=1
  fi
  rm -f "$log"
}

run_tests nvrtc_compile
run_tests cuda_backend
run_tests zkinfer_prover groth16::

bench="$dir/release/zkinfer-bench"
if [[ -x "$bench" ]]; then
  echo "== zkinfer-bench ${bench_args[*]}"
  "$bench" "${bench_args[@]}" || status=1
else
  echo "run-on-device: $bench not built" >&2
  status=1
fi
exit $status
