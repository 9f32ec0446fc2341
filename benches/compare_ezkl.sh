#!/usr/bin/env bash
# Compare zkinfer with EZKL on the digits fixtures and the gpt decoder (not run in CI).
#
#   benches/compare_ezkl.sh [mlp|cnn|gpt|llama]...   # default: mlp cnn gpt
#
# 1. Creates the git-ignored venv benches/.ezkl-venv (python3 -m venv) and
#    installs ezkl 23.x, onnx and numpy into it (once; PyPI only).
# 2. For each fixture runs EZKL through its Python API (benches/compare_ezkl.py):
#    gen_settings, decomp_base=1024/decomp_legs=3, calibrate_settings (target
#    "resources", calibration data = fixtures/$m/samples.json), compile_circuit,
#    gen_srs (a local test SRS: there is no network for get_srs), setup,
#    gen_witness, prove, verify.
# 3. Builds zkinfer (cargo build --release) and times each CLI command on the
#    same model and input: compile, setup, prove, verify.
# 4. Prints one table: fixture | system | prove s | verify s | proof bytes | pk bytes,
#    and the speed-up of zkinfer's prove over EZKL's.
#
# EZKL "prove s" is gen_witness + prove (zkinfer's `prove` does inference and
# proving in one command); the result JSONs in the work folder also keep the
# separate timings, setup time, vk size and EZKL's chosen scales/logrows.
#
# Environment:
#   ZKINFER_SKIP_BUILD=1   use the existing target/release/zkinfer, don't run cargo
#   ZKINFER_BIN=path       the zkinfer binary to time (default target/release/zkinfer)
#   ZKINFER_BACKEND=cuda   pass --backend to `zkinfer prove` (default: the CLI's default)
#   WORKDIR=path           where keys, proofs and results go (default: a fresh mktemp -d)
#   EZKL_MAX_LOGROWS=k     cap EZKL's calibrated circuit at 2^k rows (on gpt EZKL otherwise
#                          picks 2^26, out of reach of a 2-core, 24 GB machine)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/benches/.ezkl-venv"
PY="$VENV/bin/python"
HELPER="$ROOT/benches/compare_ezkl.py"

fixtures=("$@")
[ ${#fixtures[@]} -eq 0 ] && fixtures=(mlp cnn gpt)
for m in "${fixtures[@]}"; do
  case "$m" in
    mlp|cnn|gpt|llama) ;;
    *) echo "unknown fixture '$m' (expected mlp, cnn, gpt or llama)" >&2; exit 2 ;;
  esac
done

WORKDIR="${WORKDIR:-$(mktemp -d -t zkinfer-vs-ezkl.XXXXXX)}"
mkdir -p "$WORKDIR"
echo "work folder: $WORKDIR" >&2

# ---------------------------------------------------------------- EZKL venv
if ! "$PY" -c 'import ezkl, onnx, numpy' >/dev/null 2>&1; then
  echo "creating $VENV and installing ezkl 23.x ..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet "ezkl==23.*" onnx numpy
fi
"$PY" -c 'import ezkl; print("ezkl", ezkl.__version__)' >&2

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# ---------------------------------------------------------------- zkinfer build
ZK="${ZKINFER_BIN:-$ROOT/target/release/zkinfer}"
zk_ok=1
if [ "${ZKINFER_SKIP_BUILD:-0}" != 1 ]; then
  echo "cargo build --release ..." >&2
  if ! cargo build --release >"$WORKDIR/cargo-build.log" 2>&1; then
    echo "cargo build --release failed (see $WORKDIR/cargo-build.log); zkinfer half skipped" >&2
    zk_ok=0
  fi
fi
if [ ! -x "$ZK" ]; then
  echo "no $ZK; zkinfer half skipped" >&2
  zk_ok=0
fi
# Keep in step with transformer_settings() in circuits/tests/transformers.rs.
TRANSFORMER_ARGS="--scale 8 --weight-scale 8 --bits 20"
backend_args=()
[ -n "${ZKINFER_BACKEND:-}" ] && backend_args=(--backend "$ZKINFER_BACKEND")

# run_timed LABEL LOG cmd... : runs cmd, stdout+stderr to LOG, sets $T to seconds
run_timed() {
  local label="$1" log="$2"; shift 2
  local t0 t1 rc=0
  t0=$(now)
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    echo "  zkinfer $label failed (exit $rc), see $log" >&2
    tail -5 "$log" >&2 || true
    return 1
  fi
  t1=$(now)
  T=$(elapsed "$t0" "$t1")
  printf '  zkinfer %-10s %8.3f s\n' "$label" "$T" >&2
}

run_zkinfer() {
  local m="$1" d="$WORKDIR/$m/zkinfer"
  mkdir -p "$d"
  local t_compile t_setup t_prove t_verify
  # The same tuning EZKL gets: calibration on the fixture's samples (ZKINFER_COMPILE_ARGS
  # overrides it, e.g. to "" for the uncalibrated worst-case bits). The decoders take the
  # scales their accuracy test uses (circuits/tests/transformers.rs).
  local fixture_args=""
  case "$m" in gpt|llama) fixture_args="$TRANSFORMER_ARGS" ;; esac
  # shellcheck disable=SC2086
  # The samples EZKL calibrates on (compare_ezkl.py: the first 5).
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); json.dump({"inputs": s["inputs"][:5]}, open(sys.argv[2], "w"))' \
    "fixtures/$m/samples.json" "$d/calibration.json"
  run_timed compile "$d/compile.log" "$ZK" compile --model "fixtures/$m/model.onnx" --out "$d/m.zkc" \
    $fixture_args ${ZKINFER_COMPILE_ARGS---calibrate $d/calibration.json} || return 1
  t_compile=$T
  run_timed setup "$d/setup.log" "$ZK" setup --circuit "$d/m.zkc" --pk "$d/m.pk" --vk "$d/m.vk" || return 1
  t_setup=$T
  run_timed prove "$d/prove.log" "$ZK" prove --circuit "$d/m.zkc" --pk "$d/m.pk" \
    --input "fixtures/$m/input.json" --proof "$d/proof.json" "${backend_args[@]}" || return 1
  t_prove=$T
  run_timed verify "$d/verify.log" "$ZK" verify --vk "$d/m.vk" --proof "$d/proof.json" || return 1
  t_verify=$T
  python3 - "$m" "$d" "$t_compile" "$t_setup" "$t_prove" "$t_verify" "$WORKDIR/$m-zkinfer.json" <<'EOF'
import json, os, sys
m, d, tc, ts, tp, tv, out = sys.argv[1:]
with open(os.path.join(d, "proof.json")) as f:
    proof = json.load(f)
h = proof.get("proof", "")
h = h[2:] if h.startswith("0x") else h
res = {
    "fixture": m, "system": "zkinfer",
    "prove_s": float(tp), "verify_s": float(tv), "setup_s": float(ts), "compile_s": float(tc),
    "proof_bytes": len(h) // 2,
    "proof_file_bytes": os.path.getsize(os.path.join(d, "proof.json")),
    "pk_bytes": os.path.getsize(os.path.join(d, "m.pk")),
    "vk_bytes": os.path.getsize(os.path.join(d, "m.vk")),
    "outputs": proof.get("output", {}).get("values"),
}
with open(out, "w") as f:
    json.dump(res, f, indent=1)
EOF
}

# ---------------------------------------------------------------- run
results=()
for m in "${fixtures[@]}"; do
  echo "== $m: EZKL" >&2
  if "$PY" "$HELPER" ezkl "$m" "$WORKDIR/$m/ezkl" "$WORKDIR/$m-ezkl.json" 2>"$WORKDIR/$m-ezkl.log"; then
    grep -E '^  ezkl ' "$WORKDIR/$m-ezkl.log" >&2 || true
    results+=("$WORKDIR/$m-ezkl.json")
  else
    echo "EZKL failed on $m; log: $WORKDIR/$m-ezkl.log" >&2
    tail -20 "$WORKDIR/$m-ezkl.log" >&2 || true
  fi
  if [ "$zk_ok" = 1 ]; then
    echo "== $m: zkinfer" >&2
    if run_zkinfer "$m"; then
      results+=("$WORKDIR/$m-zkinfer.json")
    else
      echo "zkinfer failed on $m" >&2
    fi
  fi
done

echo
echo "machine: $(nproc) cores, $(uname -m); $(date -u +%Y-%m-%dT%H:%MZ)"
python3 "$HELPER" table "${results[@]}"
