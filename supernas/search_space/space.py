"""The search space: a frozen, validated set of choices along five axes.

Axes and their fields:

* depth — ``depth``: number of executed layers.
* width — ``embed_dim`` (global), ``heads`` per layer (of fixed ``head_dim``),
  ``mlp_ratio`` per layer.
* tokens — ``keep_ratio`` at each of ``reduction_layers`` (a reduction "after
  layer p" shortens the sequence seen by layer p+1 onward).
* recursion — ``loops``: the executed layers cycle ``loops`` times over
  ⌈depth / loops⌉ unique shared blocks; ``lora_rank`` per layer relaxes the sharing.
* quantization — ``weight_bits`` and ``act_bits`` per layer (32 means float).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from supernas.atomic import write_text
from supernas.errors import SearchSpaceError, choices_text
from supernas.search_space.spec import InputSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FLOAT_BITS = 32  # a bit width of 32 means "not quantized"
VALID_BITS = (2, 3, 4, 5, 6, 7, 8, 16, FLOAT_BITS)


@dataclass(frozen=True)
class SearchSpace:
    """Choices for every gene of a :class:`~supernas.search_space.SubnetConfig`.

    Choice tuples are stored sorted ascending without duplicates; a gene's
    integer encoding is its index in that tuple.
    """

    depth: tuple[int, ...] = (2, 3, 4, 5, 6)  # executed layers
    embed_dim: tuple[int, ...] = (32, 48, 64)  # token width, shared by all layers
    heads: tuple[int, ...] = (2, 3, 4)  # attention heads per layer
    head_dim: int = 16  # width of one head (fixed)
    mlp_ratio: tuple[float, ...] = (2.0, 3.0, 4.0)  # MLP hidden width / embed_dim, per layer
    loops: tuple[int, ...] = (1, 2, 3)  # passes over the stack of shared blocks
    lora_rank: tuple[int, ...] = (0, 4, 8)  # per-layer LoRA rank on shared weights
    weight_bits: tuple[int, ...] = (4, 8, 32)  # per-layer weight bit width
    act_bits: tuple[int, ...] = (8, 32)  # per-layer activation bit width
    reduction_layers: tuple[int, ...] = (2, 4)  # token reduction after these many layers
    keep_ratio: tuple[float, ...] = (0.5, 0.75, 1.0)  # share of tokens kept at a reduction
    patch_size: int = 2  # pixels (images) or steps (sequences) per token side

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SCALAR_FIELDS:
                _check_int(f.name, value, minimum=1)
            elif f.name == "reduction_layers":
                object.__setattr__(self, f.name, _normalise(f.name, value, allow_empty=True))
            else:
                object.__setattr__(self, f.name, _normalise(f.name, value, allow_empty=False))
        self._check_ranges()

    def _check_ranges(self) -> None:
        _check_each("depth", self.depth, lambda v: isinstance(v, int) and v >= 1, "integers ≥ 1")
        _check_each("embed_dim", self.embed_dim, lambda v: isinstance(v, int) and v >= 1, "integers ≥ 1")
        _check_each("heads", self.heads, lambda v: isinstance(v, int) and v >= 1, "integers ≥ 1")
        _check_each("mlp_ratio", self.mlp_ratio, lambda v: 0 < v <= 16, "numbers in (0, 16]")
        _check_each("lora_rank", self.lora_rank, lambda v: isinstance(v, int) and v >= 0, "integers ≥ 0")
        _check_each("weight_bits", self.weight_bits, lambda v: v in VALID_BITS, choices_text(VALID_BITS))
        _check_each("act_bits", self.act_bits, lambda v: v in VALID_BITS, choices_text(VALID_BITS))
        _check_each("keep_ratio", self.keep_ratio, lambda v: 0 < v <= 1, "numbers in (0, 1]")
        max_depth = self.max_depth
        _check_each(
            "loops",
            self.loops,
            lambda v: isinstance(v, int) and 1 <= v <= max_depth,
            f"integers in 1..{max_depth} (the largest depth)",
        )
        _check_each(
            "reduction_layers",
            self.reduction_layers,
            lambda v: isinstance(v, int) and 1 <= v < max_depth,
            f"integers in 1..{max_depth - 1} (a reduction needs a layer after it)",
        )
        widest = max(self.heads) * self.head_dim
        if widest > max(self.embed_dim):
            fit = max(self.embed_dim) // self.head_dim
            raise SearchSpaceError(
                f"search space field 'heads': {max(self.heads)} heads × head_dim {self.head_dim} = {widest} "
                f"exceeds the largest embed_dim {max(self.embed_dim)}; valid: heads ≤ {fit}"
            )
        for ratio in self.mlp_ratio:
            for dim in self.embed_dim:
                if round(ratio * dim) < 1:
                    raise SearchSpaceError(
                        f"search space field 'mlp_ratio': {ratio} × embed_dim {dim} leaves no hidden units"
                    )

    # ------------------------------------------------------------------ derived
    @property
    def max_depth(self) -> int:
        return max(self.depth)

    @property
    def num_reductions(self) -> int:
        return len(self.reduction_layers)

    def check_input(self, spec: InputSpec) -> None:
        """Raise if this space cannot run on inputs of ``spec``."""
        spec.check_patch_size(self.patch_size)

    # --------------------------------------------------------------- conversion
    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "search space") -> SearchSpace:
        """Build a space from plain data, rejecting unknown keys by name."""
        if not isinstance(data, dict):
            raise SearchSpaceError(f"{source}: expected a table of fields, got {type(data).__name__}")
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise SearchSpaceError(f"{source}: unknown field {unknown[0]!r}; valid fields: {choices_text(valid)}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_toml(self) -> str:
        lines = ["# supernas search space"]
        for key, value in self.to_dict().items():
            lines.append(f"{key} = {json.dumps(value)}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write to ``path`` as TOML (``.toml``) or JSON (anything else)."""
        path = Path(path)
        write_text(path, self.to_toml() if path.suffix == ".toml" else self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> SearchSpace:
        """Read a TOML or JSON file (chosen by suffix: ``.toml`` or ``.json``)."""
        path = Path(path)
        if path.suffix not in (".toml", ".json"):
            raise SearchSpaceError(f"space file {path}: unknown suffix {path.suffix!r}; valid: .toml, .json")
        try:
            text = path.read_text()
        except OSError as exc:
            raise SearchSpaceError(f"space file {path}: cannot be read ({exc.strerror})") from exc
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise SearchSpaceError(f"space file {path}: not valid {path.suffix[1:].upper()} ({exc})") from exc
        return cls.from_dict(data, source=f"space file {path}")


_SCALAR_FIELDS = ("head_dim", "patch_size")
FIELD_AXES = {  # the axis each field of SearchSpace belongs to (``patch_size`` sets the stem)
    "depth": "depth",
    "embed_dim": "width",
    "heads": "width",
    "head_dim": "width",
    "mlp_ratio": "width",
    "reduction_layers": "tokens",
    "keep_ratio": "tokens",
    "loops": "recursion",
    "lora_rank": "recursion",
    "weight_bits": "quantization",
    "act_bits": "quantization",
    "patch_size": "stem",
}


def _check_int(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SearchSpaceError(f"search space field {name!r}: {value!r} is not valid; valid: an integer ≥ {minimum}")


def _normalise(name: str, value: object, allow_empty: bool) -> tuple[Any, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)):
        raise SearchSpaceError(f"search space field {name!r}: expected a list of choices, got {value!r}")
    if not value and not allow_empty:
        raise SearchSpaceError(f"search space field {name!r}: the list of choices is empty; give at least one")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SearchSpaceError(f"search space field {name!r}: choice {v!r} is not a number")
    if len(set(value)) != len(value):
        raise SearchSpaceError(f"search space field {name!r}: duplicate choices in {list(value)}")
    if name in ("mlp_ratio", "keep_ratio"):
        return tuple(sorted(float(v) for v in value))
    for v in value:
        if float(v) != int(v):
            raise SearchSpaceError(f"search space field {name!r}: choice {v!r} is not an integer")
    return tuple(sorted(int(v) for v in value))


def _check_each(name: str, values: tuple[Any, ...], ok: Any, valid: str) -> None:
    bad = [v for v in values if not ok(v)]
    if bad:
        raise SearchSpaceError(f"search space field {name!r}: choice {bad[0]!r} is out of range; valid: {valid}")
