"""Prove one digit classification with the digits CNN and verify it.

    python python/examples/digits.py [path/to/fixtures]

Compiles fixtures/cnn/model.onnx (8x8 grey-scale digits, pixels in [0, 1], so the input fits
9 bits at scale 7), runs a local setup, proves the first sample of fixtures/cnn/samples.json and
verifies the proof, then prints the proven scores, the predicted digit and the label.
"""

import json
import pathlib
import sys
import time

import numpy as np

import zkinfer

fixtures = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2] / "fixtures")
samples = json.loads((fixtures / "cnn" / "samples.json").read_text())
x = np.asarray(samples["inputs"][0], dtype=np.float32)  # shape (1, 8, 8)

t = time.perf_counter()
circuit = zkinfer.compile(fixtures / "cnn" / "model.onnx", input_bits=9)
print(f"compiled: {circuit.constraints:,} constraints, {circuit.public_inputs} public inputs ({time.perf_counter() - t:.2f} s)")
for row in circuit.layers:
    print(f"  {row['name']:<28} {row['op'] or '-':<14} {str(row['shape'] or '-'):>14} {row['constraints']:>8}")

t = time.perf_counter()
pk, vk = circuit.setup()  # development keys: use a ceremony's for anything others rely on
print(f"setup: {time.perf_counter() - t:.2f} s")

t = time.perf_counter()
proof = circuit.prove(pk, x)
print(f"prove: {time.perf_counter() - t:.3f} s")

t = time.perf_counter()
ok = zkinfer.verify(vk, proof)
print(f"verify: {ok} ({(time.perf_counter() - t) * 1e3:.1f} ms)")

scores = proof.output.ravel()
print("proven scores:", np.array2string(scores, precision=3))
print(f"predicted digit {int(np.argmax(scores))}, label {samples['labels'][0]}")
sys.exit(0 if ok else 1)
