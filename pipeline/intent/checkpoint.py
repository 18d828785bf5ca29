"""Intent checkpoints on disk, written atomically (temp file, fsync, rename).

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = Path(tmp) / "intent.ckpt"
...     model = IntentModel()
...     model.learn({"page_views": 1.0}, {}, converted=False)
...     _ = save_checkpoint(model, path)
...     load_checkpoint(path).n_learned
1
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pipeline.intent.model import IntentModel
from pipeline.intent.options import IntentOptions

__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(model: IntentModel, path: Path | str) -> Path:
    """Write ``model`` to ``path`` atomically; returns the path.

    A crash mid-write leaves the previous checkpoint intact.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_checkpoint(IntentModel(), Path(tmp) / "sub" / "intent.ckpt").name
    'intent.ckpt'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = model.to_bytes()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def load_checkpoint(path: Path | str, options: IntentOptions | None = None) -> IntentModel:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises :class:`pipeline.intent.CheckpointMismatch` (River version, checkpoint schema or,
    when ``options`` is given, learning options differ) or
    :class:`pipeline.intent.CheckpointError` (not a checkpoint, corrupt), and
    ``FileNotFoundError`` when there is no file.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_checkpoint(IntentModel(IntentOptions(seed=9)), Path(tmp) / "i.ckpt")
    ...     load_checkpoint(path).options.seed
    9
    """
    checkpoint = Path(path)
    return IntentModel.from_bytes(checkpoint.read_bytes(), options, source=str(checkpoint))
