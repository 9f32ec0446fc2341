"""Type stubs of the extension module ``zkinfer._zkinfer`` (PyO3)."""

import os
from typing import Dict, List, Optional, Sequence, Tuple, TypedDict, Union

import numpy as np
import numpy.typing as npt

__version__: str
"""The zkinfer version the module was built from."""

__build_id__: str
"""SHA-256 of the sources the module was built from (the tests refuse a stale wheel)."""

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = npt.ArrayLike

class LayerRow(TypedDict):
    """One row of the per-layer table ``zkinfer compile`` prints."""

    name: str
    """"input", the layer's node name, or "public inputs"."""
    op: Optional[str]
    shape: Optional[List[int]]
    scale: Optional[int]
    bits: Optional[int]
    max_err: Optional[float]
    """A bound on the layer's error against the float model (real units), inputs in range."""
    constraints: int

class Circuit:
    """A compiled model (a ``.zkc`` file)."""

    @property
    def layers(self) -> List[LayerRow]:
        """The per-layer table: the input, every layer, the public inputs."""
    @property
    def constraints(self) -> int: ...
    @property
    def variables(self) -> int: ...
    @property
    def public_inputs(self) -> int: ...
    @property
    def per_op_type(self) -> List[Tuple[str, int, int]]:
        """(op type, nodes, constraints), most costly first."""
    @property
    def warnings(self) -> List[str]: ...
    @property
    def digest(self) -> str:
        """The circuit digest (hex) that binds keys and proofs to this circuit."""
    @property
    def input_shape(self) -> List[int]: ...
    @property
    def output_shape(self) -> List[int]: ...
    @property
    def segmented(self) -> bool: ...
    def save(self, path: PathLike) -> None: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> "Circuit": ...
    def setup(self) -> Tuple["ProvingKey", "VerifyingKey"]:
        """A local (development) setup, as ``zkinfer setup``. Releases the GIL."""
    def run(self, x: ArrayLike) -> npt.NDArray[np.float64]:
        """Integer inference: the output, dequantised, in the output's shape.

        ``x``: the input shape (dimensions of size 1 may be left out) or flat; anything
        ``np.asarray`` takes. A wrong shape, NaN or a value out of range raises ValueError.
        """
    def prove(self, pk: "ProvingKey", x: ArrayLike, *, backend: str = "cpu") -> "Proof":
        """Proves the model on ``x``, as ``zkinfer prove``. Releases the GIL."""

class ProvingKey:
    """A proving key (``.pk``)."""

    @property
    def digest(self) -> str: ...
    def save(self, path: PathLike) -> None: ...
    @staticmethod
    def load(path: PathLike) -> "ProvingKey": ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> "ProvingKey": ...

class VerifyingKey:
    """A verifying key (``.vk``): obtain it from the model's publisher, never from a prover."""

    @property
    def digest(self) -> str: ...
    def save(self, path: PathLike) -> None: ...
    @staticmethod
    def load(path: PathLike) -> "VerifyingKey": ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> "VerifyingKey": ...

class Proof:
    """One inference's proof (proof.json)."""

    @property
    def output(self) -> npt.NDArray[np.float64]:
        """The output, dequantised, in the output's shape."""
    @property
    def output_quantized(self) -> npt.NDArray[np.int64]: ...
    @property
    def input_quantized(self) -> npt.NDArray[np.int64]: ...
    @property
    def output_scale(self) -> int: ...
    @property
    def circuit(self) -> str: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> "Proof": ...
    def save(self, path: PathLike) -> None: ...
    @staticmethod
    def load(path: PathLike) -> "Proof": ...

def compile(
    model: Union[PathLike, bytes],
    *,
    calibrate: Optional[ArrayLike] = None,
    scale: int = 7,
    weight_scale: Optional[int] = None,
    bits: Optional[int] = None,
    input_bits: Optional[int] = None,
    margin: float = 1.25,
    input_visibility: str = "public",
    output_visibility: str = "public",
) -> Circuit:
    """Compiles an ONNX model (a path or its bytes), as ``zkinfer compile``.

    ``calibrate``: sample inputs, shape ``[n, *input_shape]``, as ``--calibrate``.
    """

def load_circuit(path: PathLike) -> Circuit: ...
def verify(vk: VerifyingKey, proof: Proof) -> bool:
    """True if valid, False if rejected; ValueError for malformed input."""

def verify_batch(vk: VerifyingKey, proofs: Sequence[Proof]) -> bool:
    """All proofs in one multi-pairing: True if all are valid, False if any is rejected."""

def export_verifier(vk: VerifyingKey) -> str:
    """The Solidity verifier contract."""

def calldata(vk: VerifyingKey, proof: Proof) -> Dict[str, List[str]]:
    """``{"proof": [8 decimals], "input": [N decimals]}`` for ``verifyProof``."""
