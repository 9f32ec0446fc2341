"""compile (path, bytes, options, calibration), the per-layer table and the circuit file."""

import re

import numpy as np
import pytest

import zkinfer
from conftest import FIXTURES, fixture_samples

MLP = FIXTURES / "mlp" / "model.onnx"


def test_path_str_and_bytes_compile_to_the_same_circuit(mlp):
    from_path = mlp.circuit
    assert zkinfer.compile(str(MLP), input_bits=9).digest == from_path.digest
    assert zkinfer.compile(MLP.read_bytes(), input_bits=9).digest == from_path.digest
    assert zkinfer.compile(bytearray(MLP.read_bytes()), input_bits=9).digest == from_path.digest
    with pytest.raises(ValueError, match="model must be a path"):
        zkinfer.compile(42)
    assert from_path.input_shape == [1, 64]
    assert from_path.output_shape == [1, 10]
    # Other settings make another circuit.
    assert zkinfer.compile(MLP, input_bits=9, scale=6).digest != from_path.digest


def test_the_cli_compiles_the_same_circuit(mlp, cli, tmp_path):
    out = tmp_path / "cli.zkc"
    cli("compile", "--model", MLP, "--out", out, "--input-bits", "9")
    assert zkinfer.load_circuit(out).digest == mlp.circuit.digest


def test_layers_are_the_table_compile_prints(mlp, cli, tmp_path):
    layers = mlp.circuit.layers
    assert layers[0]["name"] == "input" and layers[0]["op"] is None
    assert layers[0]["shape"] == [1, 64] and layers[0]["bits"] == 9 and layers[0]["scale"] == 7
    assert layers[-1]["name"] == "public inputs" and layers[-1]["shape"] is None
    assert all(isinstance(r["op"], str) for r in layers[1:-1]) and len(layers) > 3
    assert sum(r["constraints"] for r in layers) == mlp.circuit.constraints
    assert layers[-1]["constraints"] == mlp.circuit.public_inputs
    # The CLI's table, row by row: the name first, the constraints last.
    out = cli(
        "compile", "--model", MLP, "--out", tmp_path / "m.zkc", "--input-bits", "9"
    ).stdout.splitlines()
    start = next(i for i, l in enumerate(out) if l.startswith("layer "))
    rows = out[start + 1 : start + 1 + len(layers)]
    for r, line in zip(layers, rows):
        assert line.startswith(r["name"]), (r, line)
        assert int(line.split()[-1]) == r["constraints"], (r, line)
        if r["max_err"] is not None:
            # Printed to 3 significant digits (Rust's {:.2e}).
            assert float(line.split()[-2]) == pytest.approx(r["max_err"], rel=5e-3), (r, line)
    total = next(l for l in out if l.startswith("total: "))
    assert re.match(rf"total: {mlp.circuit.constraints} constraints, {mlp.circuit.variables} variables", total)


def test_circuit_save_and_load_round_trip(mlp, tmp_path):
    path = tmp_path / "c.zkc"
    mlp.circuit.save(path)
    loaded = zkinfer.load_circuit(path)
    assert loaded.digest == mlp.circuit.digest
    assert loaded.layers == mlp.circuit.layers
    assert zkinfer.Circuit.from_bytes(mlp.circuit.to_bytes()).digest == mlp.circuit.digest
    # A loaded circuit proves with the session's key.
    assert zkinfer.verify(mlp.vk, loaded.prove(mlp.pk, mlp.x))


def test_calibration_from_an_array_matches_the_cli(cli, tmp_path):
    calibrated = zkinfer.compile(MLP, calibrate=fixture_samples("mlp"))
    out = tmp_path / "cal.zkc"
    cli("compile", "--model", MLP, "--out", out, "--calibrate", FIXTURES / "mlp" / "samples.json")
    assert zkinfer.load_circuit(out).digest == calibrated.digest
    worst = zkinfer.compile(MLP)
    assert calibrated.constraints < worst.constraints
    with pytest.raises(ValueError, match="--margin must be at least 1"):
        zkinfer.compile(MLP, calibrate=fixture_samples("mlp"), margin=0.5)
    with pytest.raises(ValueError, match="calibrate needs an array of samples"):
        zkinfer.compile(MLP, calibrate=np.zeros(64))


def test_compile_errors_carry_the_cli_message(cli, tmp_path):
    bad = FIXTURES / "bad" / "truncated.onnx"
    p = cli("compile", "--model", bad, "--out", tmp_path / "x.zkc", code=2)
    with pytest.raises(ValueError) as e:
        zkinfer.compile(bad)
    assert str(e.value) == cli.error(p)
    with pytest.raises(ValueError, match="cannot read"):
        zkinfer.compile(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="--input-visibility"):
        zkinfer.compile(MLP, input_visibility="secret")
    with pytest.raises(ValueError, match="not a zkinfer circuit file"):
        zkinfer.Circuit.from_bytes(b"nonsense")


def test_segmented_models_are_refused_with_a_reason(cli, tmp_path):
    zkc, pk, vk = tmp_path / "seg.zkc", tmp_path / "seg.pk", tmp_path / "seg.vk"
    cli("compile", "--model", MLP, "--out", zkc, "--input-bits", "9", "--max-constraints", "800")
    circuit = zkinfer.load_circuit(zkc)
    assert circuit.segmented
    # Integer inference needs no key: it runs on the whole graph.
    assert circuit.run(np.zeros(64)).shape == (1, 10)
    with pytest.raises(ValueError, match="segmented"):
        circuit.setup()
    cli("setup", "--circuit", zkc, "--pk", pk, "--vk", vk)
    with pytest.raises(ValueError, match="segmented"):
        zkinfer.VerifyingKey.load(vk)
