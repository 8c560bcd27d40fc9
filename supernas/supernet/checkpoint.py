"""Supernet checkpoints: atomic writes, validated reads.

A checkpoint is one ``torch.save`` file holding plain data only (tensors, dicts,
lists, numbers, strings), so it loads with ``weights_only=True``. It is written to
a temporary file in the target directory and moved into place with
``os.replace``: a reader sees the previous checkpoint or the new one, never half.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from supernas.atomic import atomic_path
from supernas.errors import CheckpointError, SupernasError
from supernas.search_space.space import SearchSpace
from supernas.search_space.spec import InputSpec
from supernas.supernet.model import Supernet

FORMAT = "supernas-supernet/1"  # bumped when the layout of the file changes
REQUIRED = ("format", "model", "space", "spec", "task", "class_names", "train_config", "epoch", "history")


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw contents of a checkpoint, checked for format and required keys."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory; pass the file `supernas train` wrote")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; pass the output file of `supernas train`")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then refuses
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to parse the file (torch raises many kinds on corrupt bytes)
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt or not a supernas checkpoint ({load_failure(path, exc)})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} has format {found!r}; valid: {FORMAT!r}")
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise CheckpointError(f"checkpoint {str(path)!r} lacks {', '.join(missing)}; it is incomplete or corrupt")
    for key, kind in FIELD_TYPES.items():
        if key in state and not _is(state[key], kind):
            raise CheckpointError(
                f"checkpoint {str(path)!r} field {key!r} is a {type(state[key]).__name__}; valid: {kind.__name__}"
            )
    return state


FIELD_TYPES: dict[str, type] = {  # the type of each field a checkpoint may hold
    "format": str,
    "model": dict,
    "space": dict,
    "spec": dict,
    "task": str,
    "class_names": list,
    "train_config": dict,
    "epoch": int,
    "history": list,
    "metrics": dict,
    "complete": bool,
    "augment": str,
    "init": dict,
    "teacher_model": dict,
}


def _is(value: object, kind: type) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def load_failure(path: Path, exc: BaseException) -> str:
    """Why torch refused the file at ``path``, in one line, without torch's advice to load it unsafely."""
    with path.open("rb") as file:
        head = file.read(len(ZIP_MAGIC))
    if not head:
        return "the file is empty"
    if head != ZIP_MAGIC:  # torch tries any other bytes as a legacy pickle and blames weights_only
        return "it is not the zip archive torch.save writes"
    text = str(exc)
    if "weights only load failed" in text.lower() or "weights_only" in text:
        return "it holds Python objects beyond tensors and plain data, which supernas never unpickles"
    if isinstance(exc, OSError) or not text:  # e.g. "[Errno 22] Invalid argument" when a member ends early
        return "a zip archive that is truncated or damaged"
    return f"a zip archive that is truncated or damaged: {text.splitlines()[0].split('. ')[0]}"  # advice follows". "


ZIP_MAGIC = b"PK\x03\x04"  # the first bytes of every file torch.save writes (a zip archive)


@dataclass(frozen=True)
class LoadedSupernet:
    """A trained supernet with what it was trained on."""

    supernet: Supernet  # weights loaded, in eval mode, on the CPU
    path: Path  # the checkpoint file
    sha256: str  # of the checkpoint file, for provenance
    task: str  # e.g. "digits" or "npz:PATH"
    class_names: tuple[str, ...]  # one per label
    train_config: dict[str, Any]  # the TrainConfig as a dict
    metrics: dict[str, Any]  # final evaluation (empty until training finished)
    complete: bool  # True when training ran all its epochs


def load_supernet(path: str | Path) -> LoadedSupernet:
    """Rebuild the supernet stored in ``path``; any problem is a one-line :class:`CheckpointError`."""
    state = read_checkpoint(path)
    supernet = supernet_of(state, path)
    return LoadedSupernet(
        supernet=supernet.eval(),
        path=Path(path),
        sha256=file_sha256(path),
        task=str(state["task"]),
        class_names=tuple(state["class_names"]),
        train_config=dict(state["train_config"]),
        metrics=dict(state.get("metrics") or {}),
        complete=bool(state.get("complete", False)),
    )


def _reason(exc: Exception, limit: int = 200) -> str:
    """The first informative line of ``exc`` (torch's ``load_state_dict`` error starts with a heading line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Error(s) in loading state_dict"):
        lines = lines[1:]
    reason = lines[0] if lines else type(exc).__name__
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def supernet_of(state: dict[str, Any], path: str | Path) -> Supernet:
    """The supernet of a checkpoint's ``state`` (read from ``path``), checked: its space and input spec are
    valid, its weights fit them exactly and are finite."""
    try:
        space = SearchSpace.from_dict(state["space"], source=f"checkpoint {path}")
        spec = InputSpec.from_dict(state["spec"])
        supernet = Supernet(space, spec)
        supernet.load_state_dict(state["model"])
    except SupernasError as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} holds an invalid space or input spec: {exc}") from None
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} weights do not fit its space ({_reason(exc)})") from None
    bad = next((name for name, t in supernet.state_dict().items() if not torch.isfinite(t).all()), None)
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds non-finite weights ({bad!r}); valid: finite weights — "
            "the run diverged: retrain, e.g. with a lower `lr`"
        )
    return supernet


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
