"""Distillation targets computed once: a frozen teacher's class probabilities for every example of an
in-memory training split under every choice its augmentation can make.

A teacher is frozen, so its output for a given augmented example never changes. With a finite
augmentation (``none``; ``shift`` of images; ``crop-flip``) a split has ``len(split) * variants``
distinct inputs. When each would otherwise go through the teacher at least :data:`MIN_REUSE` times
in the epochs left, one pass over all of them (:meth:`TeacherTable.build`) is cheaper than a teacher
forward pass on every step, and :meth:`TeacherTable.lookup` answers each step by indexing.
:class:`TeacherTargets` makes that choice for a trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
from torch import Tensor

from supernas.data.augment import AugmentDraw, apply
from supernas.data.tasks import Split
from supernas.search_space.spec import InputSpec

MIN_REUSE = 2  # per-step teacher passes each table entry must replace before a table is built
MAX_TABLE_VALUES = 64 * 2**20  # probabilities one table may hold (256 MiB of float32)
TABLE_BATCH = 512  # examples per teacher pass while building a table

Teacher = Callable[[Tensor], Tensor]  # (B, ...) inputs -> (B, K) logits


def augment_variants(mode: str, spec: InputSpec, pad: int) -> int | None:
    """Distinct inputs augmentation ``mode`` (with ``pad``) makes of one example; None when unbounded
    (shifted sequences also get Gaussian noise)."""
    if mode == "none":
        return 1
    if mode == "shift" and spec.kind == "sequence":
        return None
    side = 2 * pad + 1  # window starts per spatial dimension
    return side ** (2 if spec.kind == "image" else 1) * (2 if mode == "crop-flip" else 1)


def variant_of(choices: AugmentDraw, rows: int) -> Tensor:
    """(B,) index of each row's augmentation choice among :func:`augment_variants` of its mode."""
    if choices.mode == "none" or choices.offsets is None:
        return torch.zeros(rows, dtype=torch.long)
    side = 2 * choices.pad + 1
    index = torch.zeros(rows, dtype=torch.long)
    for column in range(choices.offsets.shape[1]):  # row-major over the spatial dimensions
        index = index * side + choices.offsets[:, column].long()
    if choices.flips is not None:
        index = index + choices.flips.long() * side ** choices.offsets.shape[1]
    return index


def choices_of(variant: int, rows: int, mode: str, spec: InputSpec, pad: int) -> AugmentDraw:
    """The choices that give every one of ``rows`` examples augmentation ``variant`` (inverse of :func:`variant_of`)."""
    if mode == "none":
        return AugmentDraw("none")
    side, dims = 2 * pad + 1, 2 if spec.kind == "image" else 1
    flip, rest = divmod(variant, side**dims)
    offsets = []
    for _ in range(dims):
        rest, start = divmod(rest, side)
        offsets.append(start)
    offset_rows = torch.tensor(offsets[::-1], dtype=torch.long).expand(rows, dims)  # (B, D)
    flips = torch.full((rows,), bool(flip)) if mode == "crop-flip" else None
    return AugmentDraw(mode, offset_rows, flips, None, pad)


def worth_a_table(split: Split, spec: InputSpec, mode: str, pad: int, passes: float) -> bool:
    """Whether a table pays: the split is in memory, the augmentation finite, the table small enough, and
    each entry replaces at least :data:`MIN_REUSE` of the ``passes`` per-step teacher passes per example."""
    variants = augment_variants(mode, spec, pad)
    if variants is None or split.streams:
        return False
    return variants * MIN_REUSE <= passes and len(split) * variants * spec.num_classes <= MAX_TABLE_VALUES


class TeacherTable:
    """A teacher's probabilities (N, V, K) for the N examples of a split under each of V augmentation choices."""

    def __init__(self, probs: Tensor, mode: str, pad: int) -> None:
        self.probs = probs  # (N, V, K) float32
        self.mode = mode  # the augmentation mode the variants belong to
        self.pad = pad  # its padding (shift: the largest shift)

    @classmethod
    @torch.no_grad()
    def build(
        cls,
        teacher: Teacher,
        split: Split,
        spec: InputSpec,
        mode: str,
        pad: int,
        device: torch.device,
        autocast: Callable[[], AbstractContextManager[object]],
    ) -> TeacherTable:
        """Run ``teacher`` (under ``autocast``, as per-step targets would be) on every example of ``split``
        under every augmentation choice of ``mode``."""
        variants = augment_variants(mode, spec, pad)
        if variants is None:
            raise ValueError(f"augmentation {mode!r} of {spec.kind} inputs has no finite set of choices")
        probs = torch.empty((len(split), variants, spec.num_classes), device=device)
        for start in range(0, len(split), TABLE_BATCH):
            x = split.x[start : start + TABLE_BATCH].to(device)  # (b, ...)
            for variant in range(variants):
                augmented = apply(x, spec.kind, choices_of(variant, len(x), mode, spec, pad))
                with autocast():
                    probs[start : start + len(x), variant] = teacher(augmented).float().softmax(dim=-1)
        return cls(probs, mode, pad)

    def lookup(self, rows: Tensor, choices: AugmentDraw) -> Tensor:
        """(B, K) probabilities for examples ``rows`` of the split augmented with ``choices``."""
        if choices.mode != self.mode or (choices.mode != "none" and choices.pad != self.pad):
            raise ValueError(
                f"the table holds {self.mode!r} (pad {self.pad}); got {choices.mode!r} (pad {choices.pad})"
            )
        variants = variant_of(choices, len(rows)).to(self.probs.device)
        return self.probs[rows.to(self.probs.device), variants]


class TeacherTargets:
    """A frozen ``teacher``'s probabilities for each training step of one run: looked up in a
    :class:`TeacherTable`, built by the first :meth:`prepare` when it pays (and ``use_table``), else
    computed on the step's examples."""

    def __init__(
        self,
        teacher: Teacher,
        split: Split,
        spec: InputSpec,
        mode: str,
        pad: int,
        device: torch.device,
        autocast: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self.teacher, self.split, self.spec, self.mode, self.pad = teacher, split, spec, mode, pad
        self.device, self.autocast = device, autocast
        self.use_table = True  # whether prepare may build a table (False: always the per-step teacher)
        self.table: TeacherTable | None = None  # built by the first prepare, when it pays
        self._prepared = False

    def prepare(self, passes: float) -> None:
        """Decide once, before the first step: build the table when ``passes`` (per-step teacher passes per
        example left in the run) make it pay."""
        if self._prepared:
            return
        self._prepared = True
        if self.use_table and worth_a_table(self.split, self.spec, self.mode, self.pad, passes):
            self.table = TeacherTable.build(
                self.teacher, self.split, self.spec, self.mode, self.pad, self.device, self.autocast
            )

    @torch.no_grad()
    def probs(self, x: Tensor, rows: Tensor, choices: AugmentDraw) -> Tensor:
        """(B, K) probabilities for ``x``: examples ``rows`` of the split augmented with ``choices``."""
        if self.table is not None:
            return self.table.lookup(rows, choices)
        with self.autocast():
            return self.teacher(x).float().softmax(dim=-1)
