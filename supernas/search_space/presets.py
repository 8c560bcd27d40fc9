"""Named search spaces (``--space-preset``): built for a task's input by its patch-size rule.

Each preset fixes the choices of every gene and picks the patch size from the task:
the smallest patch that divides the input and leaves at most the preset's number of
tokens. ``tiny`` is for tests and smoke runs, ``digits`` is the built-in space (sized
for 8×8 digits), ``deit-tiny`` spans DeiT-Tiny (12 layers, 192 channels, 3 heads of
64, MLP ratio 4, LayerNorm epsilon 1e-6, so pretrained DeiT weights fit it) and smaller
networks below it: at 224×224 it gets DeiT's 16-pixel patches (196 tokens; the largest
subnet has DeiT-Tiny's 5,717,416 parameters with 1000 classes), at 32×32 4-pixel
patches (64 tokens, as CIFAR ViTs use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from supernas.errors import SearchSpaceError, choices_text
from supernas.search_space.space import SearchSpace
from supernas.search_space.spec import InputSpec


@dataclass(frozen=True)
class Preset:
    """A named space: fixed choices, and a token budget that sets the patch size."""

    name: str  # what --space-preset takes
    description: str  # one line for `supernas space presets`
    fields: Mapping[str, Any]  # SearchSpace fields except patch_size
    max_tokens: int  # the patch size is the smallest leaving at most this many patch tokens

    def build(self, spec: InputSpec) -> SearchSpace:
        """This preset for inputs of ``spec``."""
        return SearchSpace(**self.fields, patch_size=fitting_patch(spec, self.max_tokens))


def fitting_patch(spec: InputSpec, max_tokens: int) -> int:
    """The smallest patch size that divides the input and leaves at most ``max_tokens`` tokens."""
    sides = spec.shape[1:] if spec.kind == "image" else spec.shape[:1]
    for patch in range(1, min(sides) + 1):
        if all(s % patch == 0 for s in sides) and spec.num_patches(patch) <= max_tokens:
            return patch
    return min(sides)


TINY_FIELDS: dict[str, Any] = {
    "depth": (1, 2, 3),
    "embed_dim": (16, 24),
    "heads": (1, 2),
    "head_dim": 8,
    "mlp_ratio": (1.0, 2.0),
    "loops": (1, 2),
    "lora_rank": (0, 2),
    "weight_bits": (4, 8, 32),
    "act_bits": (8, 32),
    "reduction_layers": (1,),
    "keep_ratio": (0.5, 1.0),
}
DEIT_TINY_FIELDS: dict[str, Any] = {
    "depth": (4, 6, 8, 10, 12),
    "embed_dim": (96, 144, 192),
    "heads": (1, 2, 3),
    "head_dim": 64,
    "mlp_ratio": (2.0, 3.0, 4.0),
    "loops": (1, 2, 3),
    "lora_rank": (0, 8, 16),
    "weight_bits": (4, 8, 32),
    "act_bits": (8, 32),
    "reduction_layers": (4, 8),
    "keep_ratio": (0.5, 0.75, 1.0),
    "ln_eps": 1e-6,  # DeiT's (timm's) LayerNorm epsilon
}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("tiny", "every axis with two or three small choices; for tests and smoke runs", TINY_FIELDS, 32),
        Preset("digits", "the built-in space: up to 6 layers of 64 channels (sized for 8×8 digits)", {}, 32),
        Preset(
            "deit-tiny", "up to DeiT-Tiny: 12 layers, 192 channels, 3 heads of 64, MLP ratio 4", DEIT_TINY_FIELDS, 196
        ),
    )
}


def preset_space(name: str, spec: InputSpec) -> SearchSpace:
    """The preset ``name`` built for ``spec``; unknown names list the valid ones."""
    if name not in PRESETS:
        raise SearchSpaceError(f"{name!r} is not a preset; valid: {choices_text(PRESETS)}", field="space_preset")
    space = PRESETS[name].build(spec)
    space.check_input(spec)
    return space


def default_space(spec: InputSpec) -> SearchSpace:
    """The built-in space of a task: the ``digits`` preset for ``spec``."""
    return PRESETS["digits"].build(spec)
