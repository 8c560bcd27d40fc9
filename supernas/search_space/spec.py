"""What the network sees of a task: input shape and number of classes."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal

from supernas.errors import SearchSpaceError

InputKind = Literal["image", "sequence"]
MAX_DIMENSION = 1 << 20  # of any input dimension (channels, sides, sequence length)
MAX_CLASSES = 100_000  # a classifier head has one output per class


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class InputSpec:
    """Shape of one input example and the number of classes."""

    kind: InputKind  # "image": (C, H, W); "sequence": (L, C)
    shape: tuple[int, ...]  # one example's shape, without the batch dimension
    num_classes: int  # labels are 0 .. num_classes - 1

    def __post_init__(self) -> None:
        want = 3 if self.kind == "image" else 2
        if self.kind not in ("image", "sequence"):
            raise SearchSpaceError(f"input kind {self.kind!r} is not valid; valid: image, sequence")
        if len(self.shape) != want or not all(_is_int(s) and 1 <= s <= MAX_DIMENSION for s in self.shape):
            raise SearchSpaceError(
                f"input shape {self.shape} does not fit kind {self.kind!r}; expected {want} positive dimensions of "
                f"at most {MAX_DIMENSION:,}"
            )
        if not _is_int(self.num_classes) or not 2 <= self.num_classes <= MAX_CLASSES:
            raise SearchSpaceError(f"num_classes {self.num_classes!r} must be at least 2 and at most {MAX_CLASSES:,}")

    @property
    def channels(self) -> int:
        return self.shape[0] if self.kind == "image" else self.shape[1]

    def patch_dim(self, patch_size: int) -> int:
        """Features per token after patching."""
        return self.channels * patch_size**2 if self.kind == "image" else self.channels * patch_size

    def num_patches(self, patch_size: int) -> int:
        """Tokens before the class token is prepended."""
        self.check_patch_size(patch_size)
        if self.kind == "image":
            return (self.shape[1] // patch_size) * (self.shape[2] // patch_size)
        return self.shape[0] // patch_size

    def check_patch_size(self, patch_size: int) -> None:
        sides = self.shape[1:] if self.kind == "image" else self.shape[:1]
        if any(side % patch_size for side in sides):
            valid = [p for p in range(1, min(sides) + 1) if all(s % p == 0 for s in sides)]
            raise SearchSpaceError(
                f"patch_size {patch_size} does not divide the input {self.shape}; valid: {', '.join(map(str, valid))}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "num_classes": self.num_classes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        """The spec ``to_dict`` wrote; values are checked as they are, never converted (8.9 is not a size)."""
        shape = data["shape"]
        if not isinstance(shape, (list, tuple)):
            raise SearchSpaceError(f"input shape {shape!r} is not a list of dimensions; valid: e.g. [1, 8, 8]")
        return cls(kind=data["kind"], shape=tuple(shape), num_classes=data["num_classes"])
