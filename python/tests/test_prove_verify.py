"""run, prove, verify (with the CLI both ways), tampering, bad input, batches, Solidity."""

import json
import threading
import time

import numpy as np
import pytest

import zkinfer
from conftest import FIXTURES, fixture_input


def test_run_matches_the_cli(mlp, mlp_files, cli):
    out = mlp.circuit.run(mlp.x)
    assert out.dtype == np.float64 and list(out.shape) == mlp.circuit.output_shape
    expected = json.loads(
        cli("run", "--circuit", mlp_files.zkc, "--input", FIXTURES / "mlp" / "input.json").stdout
    )
    assert np.array_equal(out.ravel(), np.asarray(expected["values"]))
    # The proof commits to the same output.
    assert np.array_equal(mlp.proof.output, out)
    assert np.array_equal(mlp.proof.output_quantized.ravel(), expected["quantized"])
    # Digit 0 (the fixture's label) scores highest, as in the float model.
    assert int(np.argmax(out)) == int(np.argmax(json.loads((FIXTURES / "mlp" / "samples.json").read_text())["outputs"][0]))


def test_lists_float32_flat_and_nested_inputs_are_accepted(mlp):
    expected = mlp.circuit.run(mlp.x)
    x = np.asarray(mlp.x, dtype=np.float64)
    for form in (x.tolist(), x.astype(np.float32), x.reshape(-1), x.reshape(1, 64), x.reshape(64, 1), np.asfortranarray(x)):
        assert np.array_equal(mlp.circuit.run(form), expected)


def test_wrong_shape_and_nan_raise_value_error(mlp, mlp_files, cli, tmp_path):
    for bad in (np.zeros((8, 8)), np.zeros(65), np.zeros((2, 64)), [[1.0, 2.0]]):
        with pytest.raises(ValueError, match="the model's input shape is \\[1, 64\\]"):
            mlp.circuit.run(bad)
        with pytest.raises(ValueError, match="input shape"):
            mlp.circuit.prove(mlp.pk, bad)
    x = np.asarray(mlp.x, dtype=np.float64).copy()
    x.flat[3] = np.nan
    with pytest.raises(ValueError) as e:
        mlp.circuit.prove(mlp.pk, x)
    # The CLI's message for the same input.
    values = ["NaN" if np.isnan(v) else v for v in x.ravel().tolist()]
    (tmp_path / "nan.json").write_text(json.dumps({"input": values}))
    p = cli("run", "--circuit", mlp_files.zkc, "--input", tmp_path / "nan.json", code=2)
    assert str(e.value) == cli.error(p) == "input value 3 is NaN, not a finite number"
    # Out of the input's 9-bit range.
    with pytest.raises(ValueError, match="input value 0"):
        mlp.circuit.run(np.full(64, 10.0))
    with pytest.raises(ValueError, match="could not convert|could not broadcast|setting an array"):
        mlp.circuit.run(["a"] * 64)


def test_prove_and_verify(mlp):
    assert zkinfer.verify(mlp.vk, mlp.proof) is True
    assert mlp.proof.circuit == mlp.circuit.digest == mlp.vk.digest == mlp.pk.digest
    other = mlp.circuit.prove(mlp.pk, np.zeros(64, dtype=np.float32))
    assert zkinfer.verify(mlp.vk, other)
    assert not np.array_equal(other.output, mlp.proof.output)


def test_keys_save_and_load_round_trip(mlp, mlp_files):
    pk = zkinfer.ProvingKey.load(mlp_files.pk)
    vk = zkinfer.VerifyingKey.load(mlp_files.vk)
    assert pk.digest == vk.digest == mlp.circuit.digest
    assert vk.to_bytes() == mlp.vk.to_bytes() == mlp_files.vk.read_bytes()
    assert zkinfer.VerifyingKey.from_bytes(vk.to_bytes()).digest == vk.digest
    assert zkinfer.ProvingKey.from_bytes(pk.to_bytes()).digest == pk.digest
    assert zkinfer.verify(vk, mlp.circuit.prove(pk, mlp.x))
    with pytest.raises(ValueError):
        zkinfer.VerifyingKey.from_bytes(b"ZKVK" + b"\0" * 8)
    with pytest.raises(ValueError, match="cannot read"):
        zkinfer.ProvingKey.load(mlp_files.dir / "missing.pk")


def test_a_python_proof_verifies_with_the_cli(mlp, mlp_files, cli):
    assert cli("verify", "--vk", mlp_files.vk, "--proof", mlp_files.proof).stdout.startswith("valid")
    assert zkinfer.Proof.load(mlp_files.proof).to_json() == mlp.proof.to_json()


def test_a_cli_proof_verifies_in_python(mlp, mlp_files, cli):
    out = mlp_files.dir / "cli-proof.json"
    cli("prove", "--circuit", mlp_files.zkc, "--pk", mlp_files.pk, "--input", FIXTURES / "mlp" / "input.json", "--proof", out)
    proof = zkinfer.Proof.load(out)
    assert zkinfer.verify(mlp.vk, proof)
    assert np.array_equal(proof.output, mlp.proof.output)
    # Keys from the CLI's setup, and the proof committed in fixtures/ (an older build's).
    cli("setup", "--circuit", mlp_files.zkc, "--pk", mlp_files.dir / "cli.pk", "--vk", mlp_files.dir / "cli.vk")
    cli_vk = zkinfer.VerifyingKey.load(mlp_files.dir / "cli.vk")
    assert zkinfer.verify(cli_vk, mlp.circuit.prove(zkinfer.ProvingKey.load(mlp_files.dir / "cli.pk"), mlp.x))
    assert not zkinfer.verify(cli_vk, mlp.proof)  # another key's proof
    assert zkinfer.verify(zkinfer.VerifyingKey.load(FIXTURES / "mlp" / "model.vk"), zkinfer.Proof.load(FIXTURES / "mlp" / "proof.json"))


def tampered(proof, delta=1):
    """The proof with output value 0 changed (quantised and float, so only the pairing fails)."""
    d = json.loads(proof.to_json())
    d["output"]["quantized"][0] += delta
    d["output"]["values"][0] = d["output"]["quantized"][0] / 2 ** d["output"]["scale"]
    return zkinfer.Proof.from_json(json.dumps(d))


def test_a_tampered_output_is_rejected(mlp, mlp_files, cli):
    bad = tampered(mlp.proof)
    assert zkinfer.verify(mlp.vk, bad) is False
    path = mlp_files.dir / "tampered.json"
    bad.save(path)
    cli("verify", "--vk", mlp_files.vk, "--proof", path, code=1)


def test_bad_input_raises_the_cli_message(mlp, mlp_files, cli):
    d = json.loads(mlp.proof.to_json())
    d["proof"] = "zz" + d["proof"][2:]
    bad = zkinfer.Proof.from_json(json.dumps(d))
    with pytest.raises(ValueError) as e:
        zkinfer.verify(mlp.vk, bad)
    path = mlp_files.dir / "badhex.json"
    bad.save(path)
    assert str(e.value) == cli.error(cli("verify", "--vk", mlp_files.vk, "--proof", path, code=2))
    with pytest.raises(ValueError):
        zkinfer.Proof.from_json("{")
    with pytest.raises(ValueError):
        zkinfer.Proof.from_json(json.dumps({**json.loads(mlp.proof.to_json()), "version": 99}))


def test_verify_batch(mlp):
    second = mlp.circuit.prove(mlp.pk, np.zeros(64))
    assert zkinfer.verify_batch(mlp.vk, [mlp.proof, second]) is True
    assert zkinfer.verify_batch(mlp.vk, []) is True
    assert zkinfer.verify_batch(mlp.vk, [mlp.proof, tampered(second)]) is False
    d = json.loads(second.to_json())
    d["proof"] = "00"
    with pytest.raises(ValueError, match="bad: #1"):
        zkinfer.verify_batch(mlp.vk, [mlp.proof, zkinfer.Proof.from_json(json.dumps(d))])


def test_export_verifier_and_calldata_match_the_cli(mlp, mlp_files, cli):
    sol = zkinfer.export_verifier(mlp.vk)
    assert "contract " in sol and "function verifyProof" in sol
    cli("export-verifier", "--vk", mlp_files.vk, "--out", mlp_files.dir / "V.sol")
    assert sol == (mlp_files.dir / "V.sol").read_text()
    args = zkinfer.calldata(mlp.vk, mlp.proof)
    assert len(args["proof"]) == 8 and len(args["input"]) == mlp.circuit.public_inputs
    assert args == json.loads(cli("calldata", "--proof", mlp_files.proof, "--vk", mlp_files.vk).stdout)


def test_the_gil_is_released_while_proving(mlp):
    """Another Python thread runs while setup and prove do: they release the GIL."""
    done = threading.Event()
    ticks = []

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        start = time.perf_counter()
        mlp.circuit.setup()
        mlp.circuit.prove(mlp.pk, mlp.x)
        end = time.perf_counter()
    finally:
        done.set()
        t.join()
    inside = [s for s in ticks if start < s < end]
    # A thread starved by a held GIL would tick a handful of times (at the switches between
    # the two calls); released, it ticks about once a millisecond throughout.
    assert len(inside) > max(10, 0.2 * (end - start) * 1000), (len(inside), end - start)
