"""Search spaces: resolve one for a task, describe it, sample subnets, validate a space file, list presets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supernas.data import task_spec
from supernas.errors import SearchSpaceError, about
from supernas.search_space import (
    PRESETS,
    InputSpec,
    SearchSpace,
    SubnetConfig,
    costs,
    count_architectures,
    default_space,
    largest,
    preset_space,
    sample,
    smallest,
)
from supernas.search_space.presets import Preset
from supernas.search_space.space import FIELD_AXES


def resolve_space(
    task: str = "digits", space: SearchSpace | str | Path | None = None, preset: str | None = None
) -> tuple[SearchSpace, InputSpec]:
    """The space to use — given, from a ``.toml``/``.json`` file, a preset, else the task's built-in one —
    checked against the task's input, and the task's input spec. A file and a preset together are an error."""
    with about("task"):
        spec = task_spec(task)
    if isinstance(space, SearchSpace):
        chosen = space
    elif space is not None:
        if preset is not None:
            raise SearchSpaceError("and `space` are exclusive; give one", field="space_preset")
        with about("space"):
            chosen = SearchSpace.load(space)
    elif preset is not None:
        with about("space_preset"):
            chosen = preset_space(preset, spec)
    else:
        chosen = default_space(spec)
    with about("space" if space is not None else "space_preset"):
        chosen.check_input(spec)
    return chosen, spec


@dataclass(frozen=True)
class SpaceSummary:
    """A space, the input it runs on, and the range of its costs."""

    space: SearchSpace
    spec: InputSpec
    architectures: int  # distinct networks
    tokens: int  # per input, class token included
    params: tuple[int, int]  # smallest, largest subnet
    macs: tuple[int, int]
    model_bytes: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": self.space.to_dict(),
            "input": self.spec.to_dict(),
            "architectures": self.architectures,
            "tokens": self.tokens,
            "params": list(self.params),
            "macs": list(self.macs),
            "model_bytes": list(self.model_bytes),
        }


def describe_space(space: SearchSpace, spec: InputSpec) -> SpaceSummary:
    """Count the architectures of ``space`` and the costs of its extremes on inputs of ``spec``."""
    small, big = costs(space, smallest(space), spec), costs(space, largest(space), spec)
    return SpaceSummary(
        space,
        spec,
        count_architectures(space),
        spec.num_patches(space.patch_size) + 1,
        (small.params, big.params),
        (small.macs, big.macs),
        (small.model_bytes, big.model_bytes),
    )


@dataclass(frozen=True)
class SubnetDescription:
    """A subnet with its analytic costs."""

    config: SubnetConfig  # canonical
    params: int
    macs: int
    model_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch_id": self.config.arch_id,
            "config": self.config.to_dict(),
            "params": self.params,
            "macs": self.macs,
            "model_bytes": self.model_bytes,
        }


MAX_SAMPLES = 10_000  # subnets one call draws
MAX_SEED = 2**32 - 1  # seeds are unsigned 32-bit, as everywhere in supernas


def sample_subnets(space: SearchSpace, spec: InputSpec, n: int, seed: int) -> list[SubnetDescription]:
    """``n`` (0..MAX_SAMPLES) random subnets of ``space`` (drawn with ``seed``, 0..2**32-1) and their costs."""
    for field, value, high in (("n", n, MAX_SAMPLES), ("seed", seed, MAX_SEED)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise SearchSpaceError(f"{value!r} is out of range; valid: an integer in 0..{high}", field=field)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        config = sample(space, rng)
        c = costs(space, config, spec)
        out.append(SubnetDescription(config, c.params, c.macs, c.model_bytes))
    return out


def validate_space_file(path: str | Path, task: str | None = None) -> tuple[SearchSpace, int]:
    """Load and check a space file (and that it fits ``task``); returns it and its number of architectures.

    Errors about the file name it (``space file PATH: …``).
    """
    space = SearchSpace.load(path)
    if task is not None:
        with about("task"):
            spec = task_spec(task)
        try:
            space.check_input(spec)
        except SearchSpaceError as exc:
            raise SearchSpaceError(f"space file {path}: {exc.detail} (for task {task!r})") from None
    return space, count_architectures(space)


def list_presets() -> list[Preset]:
    """The named spaces, in the order ``supernas space presets`` lists them."""
    return list(PRESETS.values())


__all__ = [
    "FIELD_AXES",
    "SpaceSummary",
    "SubnetDescription",
    "describe_space",
    "list_presets",
    "resolve_space",
    "sample_subnets",
    "validate_space_file",
]
