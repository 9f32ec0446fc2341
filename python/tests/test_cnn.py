"""The digits CNN, once: compile, prove, verify with Python and the CLI."""

import json

import numpy as np
import pytest

import zkinfer
from conftest import FIXTURES, fixture_input


def test_cnn_end_to_end(cli, tmp_path):
    circuit = zkinfer.compile(FIXTURES / "cnn" / "model.onnx", input_bits=9)
    assert circuit.input_shape == [1, 1, 8, 8]
    pk, vk = circuit.setup()
    x = fixture_input("cnn")  # (1, 8, 8) as input.json nests it
    proof = circuit.prove(pk, x)
    assert zkinfer.verify(vk, proof)
    assert np.array_equal(proof.output, circuit.run(x.astype(np.float32)))
    circuit.save(tmp_path / "cnn.zkc")
    vk.save(tmp_path / "cnn.vk")
    proof.save(tmp_path / "proof.json")
    cli("verify", "--vk", tmp_path / "cnn.vk", "--proof", tmp_path / "proof.json")
    expected = json.loads(cli("run", "--circuit", tmp_path / "cnn.zkc", "--input", FIXTURES / "cnn" / "input.json").stdout)
    assert np.array_equal(proof.output.ravel(), expected["values"])
    # A CNN proof is not one for the MLP's key, and the reverse.
    mlp_pk, mlp_vk = zkinfer.compile(FIXTURES / "mlp" / "model.onnx", input_bits=9).setup()
    assert zkinfer.verify(mlp_vk, proof) is False
    with pytest.raises(ValueError, match="run setup for this circuit"):
        circuit.prove(mlp_pk, x)
