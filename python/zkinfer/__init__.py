"""zkinfer: verifiable neural-network inference from Python.

Compile an ONNX model into a circuit, set up keys, run integer inference, prove an inference
with Groth16 (BN254) and verify the proof. A thin layer over zkinfer's Rust crates (the same
code the ``zkinfer`` CLI runs): circuits, keys and proofs are the CLI's files, and the numbers
are the CLI's.

>>> import zkinfer, numpy as np
>>> circuit = zkinfer.compile("fixtures/mlp/model.onnx", input_bits=9)
>>> pk, vk = circuit.setup()
>>> proof = circuit.prove(pk, np.zeros(circuit.input_shape, np.float32))
>>> zkinfer.verify(vk, proof)
True
"""

from ._zkinfer import (
    Circuit,
    Proof,
    ProvingKey,
    VerifyingKey,
    __build_id__,
    __version__,
    calldata,
    compile,
    export_verifier,
    load_circuit,
    verify,
    verify_batch,
)

__all__ = [
    "Circuit",
    "Proof",
    "ProvingKey",
    "VerifyingKey",
    "calldata",
    "compile",
    "export_verifier",
    "load_circuit",
    "verify",
    "verify_batch",
    "__version__",
    "__build_id__",
]
