"""Shared fixtures: the repository's model fixtures, the zkinfer CLI, and one compiled, set-up
and proven MLP for the whole session (most tests use it; the CNN is proven once)."""

import json
import os
import pathlib
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

import zkinfer

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"


def fixture_input(name):
    """The fixture's input.json as an array (nested as the file nests it)."""
    return np.asarray(json.loads((FIXTURES / name / "input.json").read_text())["input"])


def fixture_samples(name):
    """The fixture's samples.json "inputs" as one array, samples first."""
    return np.asarray(json.loads((FIXTURES / name / "samples.json").read_text())["inputs"])


class Cli:
    """Runs the zkinfer binary (ZKINFER_BIN, which prover/tests/python_package.rs sets)."""

    def __init__(self, path):
        self.path = path

    def __call__(self, *args, code=0):
        p = subprocess.run(
            [self.path, *map(str, args)], capture_output=True, text=True, timeout=600
        )
        assert p.returncode == code, f"zkinfer {args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    @staticmethod
    def error(p):
        """The message after `error: ` on the CLI's stderr."""
        lines = [l for l in p.stderr.splitlines() if l.startswith("error: ")]
        assert lines, p.stderr
        return lines[-1][len("error: "):]


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("ZKINFER_BIN")
    if not path:
        for profile in ("debug", "release"):
            candidate = REPO / "target" / profile / "zkinfer"
            if candidate.exists():
                path = str(candidate)
                break
    if not path:
        pytest.skip("no zkinfer binary: set ZKINFER_BIN (cargo test sets it) or cargo build")
    return Cli(path)


@pytest.fixture(scope="session")
def mlp():
    """The digits MLP as the README compiles it (--input-bits 9), its keys and one proof."""
    circuit = zkinfer.compile(FIXTURES / "mlp" / "model.onnx", input_bits=9)
    pk, vk = circuit.setup()
    x = fixture_input("mlp")
    return SimpleNamespace(circuit=circuit, pk=pk, vk=vk, x=x, proof=circuit.prove(pk, x))


@pytest.fixture(scope="session")
def mlp_files(mlp, tmp_path_factory):
    """The session MLP's circuit, keys and proof saved from Python, for the CLI to read."""
    d = tmp_path_factory.mktemp("mlp")
    mlp.circuit.save(d / "mlp.zkc")
    mlp.pk.save(d / "mlp.pk")
    mlp.vk.save(d / "mlp.vk")
    mlp.proof.save(d / "proof.json")
    return SimpleNamespace(
        dir=d, zkc=d / "mlp.zkc", pk=d / "mlp.pk", vk=d / "mlp.vk", proof=d / "proof.json"
    )
