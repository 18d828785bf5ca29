"""The checkpoint envelope: versions in a readable header, the River model pickled after it.

Layout: ``MAGIC``, a 4-byte big-endian header length, a JSON header, the pickled model.
The header is checked *before* unpickling, because a pickle from another River version may
fail to load or, worse, load wrong. Checkpoints are trusted files written by our own workers
(pickle must never be fed bytes from outside).

>>> state = CheckpointState(model={"weights": [1.0]}, options={"model": "logreg"})
>>> decode_checkpoint(encode_checkpoint(state)).model
{'weights': [1.0]}
"""

from __future__ import annotations

import json
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any

import river

from pipeline.intent.errors import CheckpointError, CheckpointMismatch

__all__ = [
    "CHECKPOINT_SCHEMA_VERSION",
    "MAGIC",
    "CheckpointState",
    "decode_checkpoint",
    "encode_checkpoint",
]

CHECKPOINT_SCHEMA_VERSION = 1
"""Version of the envelope and of what :class:`CheckpointState` holds; bump on change.

>>> CHECKPOINT_SCHEMA_VERSION >= 1
True
"""

MAGIC = b"rtp-intent-checkpoint\n"
"""First bytes of every intent checkpoint.

>>> MAGIC.startswith(b"rtp-intent")
True
"""

_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class CheckpointState:
    """What a checkpoint holds.

    ``river_version`` and ``schema_version`` default to the running ones; a test (or a
    migration tool) can set them to write a foreign checkpoint.

    >>> CheckpointState(model=None, options={}).river_version == river.__version__
    True
    """

    model: Any
    options: dict[str, Any]
    cutoffs: dict[str, float] = field(default_factory=dict)
    n_learned: int = 0
    n_positive: int = 0
    river_version: str = river.__version__
    schema_version: int = CHECKPOINT_SCHEMA_VERSION


def encode_checkpoint(state: CheckpointState) -> bytes:
    """Serialize a checkpoint state.

    >>> encode_checkpoint(CheckpointState(model=1, options={})).startswith(MAGIC)
    True
    """
    header = json.dumps(
        {
            "schema_version": state.schema_version,
            "river_version": state.river_version,
            "options": state.options,
            "cutoffs": state.cutoffs,
            "n_learned": state.n_learned,
            "n_positive": state.n_positive,
        },
        sort_keys=True,
    ).encode()
    body = pickle.dumps(state.model, protocol=pickle.HIGHEST_PROTOCOL)
    return MAGIC + _LENGTH.pack(len(header)) + header + body


def decode_checkpoint(data: bytes, source: str = "checkpoint") -> CheckpointState:
    """Read a checkpoint, refusing another River version or checkpoint schema.

    ``source`` names the checkpoint in error messages (a path, a table key).

    >>> foreign = encode_checkpoint(CheckpointState(model=1, options={}, river_version="0.1.0"))
    >>> try:
    ...     decode_checkpoint(foreign, "intent.ckpt")
    ... except CheckpointMismatch as error:
    ...     print(str(error).split(",")[0])
    intent.ckpt was written with river 0.1.0 and checkpoint schema 1
    >>> try:
    ...     decode_checkpoint(b"junk")
    ... except CheckpointError as error:
    ...     print(error)
    checkpoint is not an rtp intent checkpoint (bad magic bytes)
    """
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{source} is not an rtp intent checkpoint (bad magic bytes)")
    start = len(MAGIC)
    if len(data) < start + _LENGTH.size:
        raise CheckpointError(f"{source} is truncated (no header length)")
    (length,) = _LENGTH.unpack_from(data, start)
    start += _LENGTH.size
    if len(data) < start + length:
        raise CheckpointError(f"{source} is truncated (header of {length} bytes cut short)")
    try:
        header = json.loads(data[start : start + length])
        schema_version = int(header["schema_version"])
        river_version = str(header["river_version"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{source} has an unreadable header: {error}") from error
    if schema_version != CHECKPOINT_SCHEMA_VERSION or river_version != river.__version__:
        raise CheckpointMismatch(
            f"{source} was written with river {river_version} and checkpoint schema "
            f"{schema_version}, but this process runs river {river.__version__} and checkpoint "
            f"schema {CHECKPOINT_SCHEMA_VERSION}: refusing to load it (start a fresh model or "
            f"retrain from the decision log)"
        )
    try:
        model = pickle.loads(data[start + length :])
    except Exception as error:  # any unpickling failure means a corrupt body
        raise CheckpointError(f"{source} has a corrupt model body: {error!r}") from error
    return CheckpointState(
        model=model,
        options=dict(header.get("options", {})),
        cutoffs=dict(header.get("cutoffs", {})),
        n_learned=int(header.get("n_learned", 0)),
        n_positive=int(header.get("n_positive", 0)),
        river_version=river_version,
        schema_version=schema_version,
    )
