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

Not searched: ``head_dim``, ``patch_size`` (the stem) and ``ln_eps``, the epsilon
of every LayerNorm (a pretrained source sets it; 1e-5 otherwise).
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
DEFAULT_LN_EPS = 1e-5  # LayerNorm epsilon of spaces that do not set one


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
    ln_eps: float = DEFAULT_LN_EPS  # epsilon of every LayerNorm (not searched)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SCALAR_FIELDS:
                _check_int(f.name, value, minimum=1, maximum=SCALAR_MAX[f.name])
            elif f.name == "ln_eps":
                object.__setattr__(self, f.name, _check_eps(f.name, value))
            elif f.name == "reduction_layers":
                object.__setattr__(self, f.name, _normalise(f.name, value, allow_empty=True))
            else:
                object.__setattr__(self, f.name, _normalise(f.name, value, allow_empty=False))
        self._check_ranges()

    def _check_ranges(self) -> None:
        for name, (low, high) in INT_BOUNDS.items():
            _check_each(
                name, getattr(self, name), lambda v, lo=low, hi=high: lo <= v <= hi, f"integers in {low}..{high}"
            )
        _check_each("mlp_ratio", self.mlp_ratio, lambda v: 0 < v <= 16, "numbers in (0, 16]")
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
        weights = self.shared_weights()
        if weights > MAX_SHARED_WEIGHTS:
            raise SearchSpaceError(
                f"search space: the supernet would hold {weights:,} shared weights ({4 * weights / 2**30:.1f} GiB in "
                f"float32, several times that to train); valid: at most {MAX_SHARED_WEIGHTS:,} — lower the largest "
                "depth, embed_dim, heads × head_dim, mlp_ratio or lora_rank"
            )

    def shared_weights(self) -> int:
        """Weights of the supernet's blocks and per-layer adapters at full size (the stem and head, which depend
        on the input, are small beside them)."""
        e, a = max(self.embed_dim), max(self.heads) * self.head_dim
        h, r = max(round(m * d) for m in self.mlp_ratio for d in self.embed_dim), max(self.lora_rank)
        linears = [(e, 3 * a), (a, e), (e, h), (h, e)]
        block = sum(i * o + o for i, o in linears)
        adapters = 4 * e + sum(r * (i + o) for i, o in linears)
        return self.max_depth * (block + adapters)

    # ------------------------------------------------------------------ derived
    @property
    def max_depth(self) -> int:
        return max(self.depth)

    @property
    def num_reductions(self) -> int:
        return len(self.reduction_layers)

    def check_input(self, spec: InputSpec) -> None:
        """Raise if this space cannot run on inputs of ``spec``: the patch size must divide them, and the whole
        supernet (blocks, and the stem and head the input sizes) must stay within MAX_SHARED_WEIGHTS."""
        spec.check_patch_size(self.patch_size)
        e = max(self.embed_dim)
        stem = (spec.patch_dim(self.patch_size) + 1) * e + (spec.num_patches(self.patch_size) + 2) * e
        head = (e + 1) * spec.num_classes + 2 * e
        weights = self.shared_weights() + stem + head
        if weights > MAX_SHARED_WEIGHTS:
            raise SearchSpaceError(
                f"search space on inputs {spec.shape} with {spec.num_classes:,} classes: the supernet would hold "
                f"{weights:,} weights; valid: at most {MAX_SHARED_WEIGHTS:,} — a larger patch_size, smaller inputs "
                "or fewer classes"
            )

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
        """Read a TOML or JSON file (chosen by suffix: ``.toml`` or ``.json``) of at most MAX_FILE_BYTES.

        Every error names the file: ``space file PATH: …``.
        """
        path = Path(path)
        where = f"space file {path}"
        if path.suffix not in (".toml", ".json"):
            raise SearchSpaceError(f"{where}: unknown suffix {path.suffix!r}; valid: .toml, .json")
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise SearchSpaceError(f"{where}: cannot be read ({exc.strerror})") from exc
        if len(raw) > MAX_FILE_BYTES:
            raise SearchSpaceError(f"{where}: more than {MAX_FILE_BYTES:,} bytes; valid: at most {MAX_FILE_BYTES:,}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SearchSpaceError(f"{where}: not UTF-8 text; valid: a UTF-8 .toml or .json file") from None
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise SearchSpaceError(f"{where}: not valid {path.suffix[1:].upper()} ({exc})") from exc
        except RecursionError:
            raise SearchSpaceError(f"{where}: not valid {path.suffix[1:].upper()} (nested too deeply)") from None
        try:
            return cls.from_dict(data, source=where)
        except SearchSpaceError as exc:
            if exc.detail.startswith(where):
                raise
            raise SearchSpaceError(f"{where}: {exc.detail}", field=exc.field) from None


_SCALAR_FIELDS = ("head_dim", "patch_size")
INT_BOUNDS = {  # valid range of every integer choice (keeps spaces, and checks on them, finite)
    "depth": (1, 64),
    "embed_dim": (1, 8192),
    "heads": (1, 128),
    "lora_rank": (0, 1024),
}
SCALAR_MAX = {"head_dim": 1024, "patch_size": 4096}  # largest valid value of each scalar field
MAX_CHOICES = 64  # choices per field
MAX_FILE_BYTES = 1 << 20  # a space file is a few hundred bytes; anything near this size is not one
MAX_SHARED_WEIGHTS = 500_000_000  # supernet block and adapter weights (2 GiB in float32)
FIELD_AXES = {  # the axis each field of SearchSpace belongs to (``patch_size`` sets the stem, ``ln_eps`` the norms)
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
    "ln_eps": "norm",
}


def _check_int(name: str, value: object, minimum: int, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise SearchSpaceError(
            f"search space field {name!r}: {_short(value)} is not valid; valid: an integer in {minimum}..{maximum}"
        )


def _check_eps(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:  # rejects nan and inf
        raise SearchSpaceError(f"search space field {name!r}: {_short(value)} is not valid; valid: a number in (0, 1)")
    return float(value)


def _normalise(name: str, value: object, allow_empty: bool) -> tuple[Any, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)):
        raise SearchSpaceError(f"search space field {name!r}: expected a list of choices, got {value!r}")
    if not value and not allow_empty:
        raise SearchSpaceError(f"search space field {name!r}: the list of choices is empty; give at least one")
    if len(value) > MAX_CHOICES:
        raise SearchSpaceError(f"search space field {name!r}: {len(value)} choices; valid: at most {MAX_CHOICES}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
            raise SearchSpaceError(f"search space field {name!r}: choice {_short(v)} is not a number")
        if isinstance(v, int) and abs(v) > 10**12:
            raise SearchSpaceError(f"search space field {name!r}: choice {_short(v)} is out of range")
    if len(set(value)) != len(value):
        raise SearchSpaceError(f"search space field {name!r}: duplicate choices in {list(value)}")
    if name in ("mlp_ratio", "keep_ratio"):
        return tuple(sorted(float(v) for v in value))
    for v in value:
        if float(v) != int(v):
            raise SearchSpaceError(f"search space field {name!r}: choice {v!r} is not an integer")
    return tuple(sorted(int(v) for v in value))


def _short(value: object) -> str:
    """``repr(value)``, cut to 24 characters (a 400-digit number stays one short line)."""
    text = repr(value)
    return text if len(text) <= 24 else text[:24] + "…"


def _check_each(name: str, values: tuple[Any, ...], ok: Any, valid: str) -> None:
    bad = [v for v in values if not ok(v)]
    if bad:
        raise SearchSpaceError(f"search space field {name!r}: choice {bad[0]!r} is out of range; valid: {valid}")
