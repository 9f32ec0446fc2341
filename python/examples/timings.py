"""Prove and verify times from Python against the CLI's, for the MLP and CNN fixtures.

    python python/examples/timings.py [--zkinfer target/debug/zkinfer] [--runs 5]

Compare like with like: .ci/install-python.sh builds the wheel in cargo's dev profile, so the
default CLI is the dev build (target/debug/zkinfer; `maturin build --release` and
target/release/zkinfer compare the release builds).

Python: `circuit.prove(pk, x)` with the prover kept warm (matrices built and the key prepared
once, by the first proof; the table reports that first proof apart), and `zkinfer.verify`.
CLI: whole commands (`zkinfer prove`, `zkinfer verify`: process start, reading the files,
the same proving code). Medians over --runs.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

import zkinfer

REPO = pathlib.Path(__file__).resolve().parents[2]


def median_time(f, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zkinfer", default=str(REPO / "target" / "debug" / "zkinfer"))
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    print(f"{'fixture':<8} {'py prove (first)':>17} {'py prove':>9} {'CLI prove':>10} {'py verify':>10} {'CLI verify':>11}")
    for name in ("mlp", "cnn"):
        fx = REPO / "fixtures" / name
        x = np.asarray(json.loads((fx / "input.json").read_text())["input"])
        circuit = zkinfer.compile(fx / "model.onnx", input_bits=9)
        pk, vk = circuit.setup()
        with tempfile.TemporaryDirectory() as d:
            d = pathlib.Path(d)
            circuit.save(d / "m.zkc")
            pk.save(d / "m.pk")
            vk.save(d / "m.vk")
            t = time.perf_counter()
            proof = circuit.prove(pk, x)
            first = time.perf_counter() - t
            py_prove = median_time(lambda: circuit.prove(pk, x), a.runs)
            py_verify = median_time(lambda: zkinfer.verify(vk, proof), a.runs)
            cli = lambda *args: subprocess.run([a.zkinfer, *map(str, args)], check=True, capture_output=True)
            cli_prove = median_time(
                lambda: cli("prove", "--circuit", d / "m.zkc", "--pk", d / "m.pk", "--input", fx / "input.json", "--proof", d / "p.json"),
                a.runs,
            )
            cli_verify = median_time(lambda: cli("verify", "--vk", d / "m.vk", "--proof", d / "p.json"), a.runs)
        print(
            f"{name:<8} {first * 1e3:>14.1f} ms {py_prove * 1e3:>6.1f} ms {cli_prove * 1e3:>7.1f} ms "
            f"{py_verify * 1e3:>7.2f} ms {cli_verify * 1e3:>8.2f} ms"
        )


if __name__ == "__main__":
    main()
