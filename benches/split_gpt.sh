#!/usr/bin/env bash
# Unsplit vs split proving of the gpt fixture (not run in CI: minutes, release build).
#
#   benches/split_gpt.sh [MAX_CONSTRAINTS]     # default 380000 (4 segments at --bits 20)
#
# Compiles fixtures/gpt at --scale 8 --weight-scale 8 --bits 20 twice (one circuit; cut with
# --max-constraints), sets both up, proves the unsplit circuit and the segmented one with
# --jobs 1 and --jobs 2, verifies, and prints one table: wall time and peak RSS (GNU time's
# "Maximum resident set size") of setup and prove, key bytes, verify time. Gas comes from the
# verifier's revm tests (verifier/tests/evm.rs, verifier/tests/evm_bundle.rs: the gpt-shaped case).
#
# Environment:
#   ZKINFER_SKIP_BUILD=1   use the existing target/release/zkinfer
#   WORKDIR=path           where keys and proofs go (default: a fresh mktemp -d)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
max="${1:-380000}"
zk="$repo/target/release/zkinfer"
[ "${ZKINFER_SKIP_BUILD:-}" = 1 ] || (cd "$repo" && cargo build --release -p zkinfer-prover)
work="${WORKDIR:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
if ! command -v /usr/bin/time >/dev/null; then
    echo "split_gpt: needs GNU time (/usr/bin/time; Debian package 'time')" >&2
    exit 2
fi
fx="$repo/fixtures/gpt"
flags=(--scale 8 --weight-scale 8 --bits 20)

# Runs a command under GNU time; prints "seconds peak_bytes".
timed() {
    /usr/bin/time -f '%e %M' -o time.txt "$@" >>log.txt 2>&1
    awk '{printf "%s %d\n", $1, $2 * 1024}' time.txt
}
verify_ms() {
    "$zk" verify --vk "$1" --proof "$2" | sed -n 's/.*, \([0-9.]*\) ms).*/\1/p'
}
row() { printf '%-22s %10s %10s %10s %10s %12s %10s\n' "$@"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }

"$zk" compile --model "$fx/model.onnx" --out one.zkc "${flags[@]}" >>log.txt
"$zk" compile --model "$fx/model.onnx" --out split.zkc "${flags[@]}" --max-constraints "$max" >split-report.txt
segments=$(sed -n 's/^segments (\([0-9]*\)):/\1/p' split-report.txt)

read -r one_setup_s one_setup_peak < <(timed "$zk" setup --circuit one.zkc --pk one.pk --vk one.vk)
read -r one_prove_s one_prove_peak < <(timed "$zk" prove --circuit one.zkc --pk one.pk --input "$fx/input.json" --proof one.json)
read -r split_setup_s split_setup_peak < <(timed "$zk" setup --circuit split.zkc --pk split.pk --vk split.vk)
read -r j1_s j1_peak < <(timed "$zk" prove --circuit split.zkc --pk split.pk --input "$fx/input.json" --proof split1.json --jobs 1)
read -r j2_s j2_peak < <(timed "$zk" prove --circuit split.zkc --pk split.pk --input "$fx/input.json" --proof split2.json --jobs 2)

echo "gpt fixture, ${flags[*]}; split: --max-constraints $max -> $segments segments ($(nproc) cores)"
row "" "setup s" "setup peak" "prove s" "prove peak" "proving key" "verify ms"
row "unsplit" "$one_setup_s" "$(mb "$one_setup_peak")" "$one_prove_s" "$(mb "$one_prove_peak")" \
    "$(mb "$(stat -c %s one.pk)")" "$(verify_ms one.vk one.json)"
row "split --jobs 1" "$split_setup_s" "$(mb "$split_setup_peak")" "$j1_s" "$(mb "$j1_peak")" \
    "$(mb "$(stat -c %s split.pk)")" "$(verify_ms split.vk split1.json)"
row "split --jobs 2" "" "" "$j2_s" "$(mb "$j2_peak")" "" "$(verify_ms split.vk split2.json)"
echo
grep -E '^(#|unsplit|boundary)' split-report.txt
echo "work folder: $work"
