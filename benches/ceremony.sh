#!/usr/bin/env bash
# Native vs snarkjs phase-2 ceremony steps on a fixture (not run in CI: minutes, release build).
#
#   benches/ceremony.sh [FIXTURE] [PTAU]     # default: cnn, and a fresh snarkjs .ptau
#
# Compiles fixtures/FIXTURE (mlp at --input-bits 9), exports its .r1cs, makes a phase-2-ready
# .ptau of the power `compile` asks for with snarkjs unless PTAU is given (power 14 for the CNN:
# ~13 minutes here), then times each step both ways on the same files and prints one table:
# wall time and peak RSS (GNU time) per step, and file sizes. The beacons must be identical.
#
# Environment:
#   ZKINFER_SKIP_BUILD=1   use the existing target/release/zkinfer
#   ZKINFER_NODE_TOOLS     where .ci/install-node-tools.sh put snarkjs (default .ci/node)
#   WORKDIR=path           where files go (default: a fresh mktemp -d)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fixture="${1:-cnn}"
zk="$repo/target/release/zkinfer"
sj="${ZKINFER_NODE_TOOLS:-$repo/.ci/node}/node_modules/snarkjs/cli.js"
[ -f "$sj" ] || { echo "ceremony.sh: no snarkjs at $sj; run .ci/install-node-tools.sh" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "ceremony.sh: needs GNU time (/usr/bin/time)" >&2; exit 2; }
[ "${ZKINFER_SKIP_BUILD:-}" = 1 ] || (cd "$repo" && cargo build --release -p zkinfer-prover)
work="${WORKDIR:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"

flags=()
[ "$fixture" = mlp ] && flags=(--input-bits 9)
"$zk" compile --model "$repo/fixtures/$fixture/model.onnx" --out m.zkc "${flags[@]}" > compile.txt
power=$(sed -n 's/.*needs a .ptau of power \([0-9]*\).*/\1/p' compile.txt)
"$zk" export --format r1cs --circuit m.zkc --out m.r1cs > /dev/null
if [ -n "${2:-}" ]; then
    ptau="$2"
else
    echo "making a power-$power .ptau with snarkjs (new, contribute, prepare phase2)..." >&2
    node "$sj" powersoftau new bn128 "$power" p0.ptau > /dev/null
    node "$sj" powersoftau contribute p0.ptau p1.ptau --name=bench -e=bench > /dev/null
    node "$sj" powersoftau prepare phase2 p1.ptau final.ptau > /dev/null
    ptau=final.ptau
fi

rows=()
step() { # label, command...
    local label="$1"; shift
    /usr/bin/time -o t.txt -f "%e %M" "$@" > /dev/null 2> err.txt || { cat err.txt >&2; exit 1; }
    local t
    t=$(cat t.txt)
    rows+=("$(printf '%-28s %8s s %8s MB' "$label" "${t% *}" "$(( ${t#* } / 1024 ))")")
}
beacon=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
step "init (zkinfer)"        "$zk" ceremony init --circuit m.zkc --ptau "$ptau" --out z0.zkey
step "groth16 setup (snarkjs)" node "$sj" groth16 setup m.r1cs "$ptau" s0.zkey
cmp -s z0.zkey s0.zkey || { echo "init differs from snarkjs groth16 setup" >&2; exit 1; }
step "contribute (zkinfer)"  "$zk" ceremony contribute --in z0.zkey --out z1.zkey --entropy bench
step "contribute (snarkjs)"  node "$sj" zkey contribute z0.zkey s1.zkey -e=bench
step "beacon (zkinfer)"      "$zk" ceremony beacon --in z1.zkey --out z2.zkey --beacon "$beacon" --iterations 10
step "beacon (snarkjs)"      node "$sj" zkey beacon z1.zkey s2.zkey "$beacon" 10
cmp -s z2.zkey s2.zkey || { echo "the beacons differ" >&2; exit 1; }
step "verify (zkinfer)"      "$zk" ceremony verify --circuit m.zkc --ptau "$ptau" --zkey z2.zkey
step "verify (snarkjs)"      node "$sj" zkey verify m.r1cs "$ptau" z2.zkey

echo "fixture $fixture: $(grep '^total' compile.txt)"
echo ".ptau power $power: $(stat -c %s "$ptau") bytes; zkey: $(stat -c %s z0.zkey) bytes initial, $(stat -c %s z2.zkey) after two contributions"
printf '%s\n' "${rows[@]}"
