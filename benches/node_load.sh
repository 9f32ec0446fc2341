#!/usr/bin/env bash
# Load on a real node over loopback (not run in CI: a release build and a minute or two).
#
#   benches/node_load.sh [FIXTURE] [REQUESTS] [CONCURRENCY] [CHALLENGES]   # default cnn 500 32 50
#
# Compiles fixtures/FIXTURE, sets it up, starts `zkinfer-node serve` on a free loopback port
# with one local prover thread, runs `zkinfer-node load` (infer latency p50/p99, then the
# challenges proven: jobs per minute, nothing lost), and stops the node. With QUEUE=1 it starts
# a redis-server on a free port and WORKERS (default 2) workers instead of the local prover.
#
# Environment:
#   ZKINFER_SKIP_BUILD=1   use the existing target/release binaries
#   WORKDIR=path           where files go (default: a fresh mktemp -d)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fixture="${1:-cnn}" requests="${2:-500}" concurrency="${3:-32}" challenges="${4:-50}"
bin="$repo/target/release"
[ "${ZKINFER_SKIP_BUILD:-}" = 1 ] || (cd "$repo" && cargo build --release -p zkinfer-prover -p zkinfer-node)
work="${WORKDIR:-$(mktemp -d)}"
mkdir -p "$work/models" "$work/data"
cd "$work"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

flags=()
[ "$fixture" = mlp ] && flags=(--input-bits 9)
"$bin/zkinfer" compile --model "$repo/fixtures/$fixture/model.onnx" --out "models/$fixture.zkc" "${flags[@]}" > /dev/null
"$bin/zkinfer" setup --circuit "models/$fixture.zkc" --pk "models/$fixture.pk" --vk "models/$fixture.vk" > /dev/null 2>&1

queue=()
if [ "${QUEUE:-}" = 1 ]; then
    rport=$(free_port)
    redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no > redis.log &
    pids+=($!)
    sleep 0.5
    queue=(--queue "redis://127.0.0.1:$rport")
    for i in $(seq 1 "${WORKERS:-2}"); do
        "$bin/zkinfer-node" worker --queue "redis://127.0.0.1:$rport" --models models --name "w$i" > "worker$i.log" &
        pids+=($!)
    done
fi
port=$(free_port)
"$bin/zkinfer-node" serve --models models --data data --listen "127.0.0.1:$port" --token bench "${queue[@]}" > serve.log &
pids+=($!)
for _ in $(seq 100); do grep -q listening serve.log 2>/dev/null && break; sleep 0.1; done
echo "$fixture: $requests requests at concurrency $concurrency, $challenges challenges${QUEUE:+, ${WORKERS:-2} Redis workers}"
"$bin/zkinfer-node" load --url "http://127.0.0.1:$port" --token bench --model "$fixture" \
    --input "$repo/fixtures/$fixture/input.json" --requests "$requests" --concurrency "$concurrency" \
    --challenges "$challenges"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^zkinfer_(requests_stored|jobs|prove_seconds)' || true
