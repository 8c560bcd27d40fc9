"""Subnet configs: one choice per gene, a canonical form and a stable id.

:data:`GENOME` is the genome schema: the ordered list of genes, read by the
genome encoding, the predictor features and the functions below.

Which genes are *active* (matter for the network):

* per-layer genes of layer ``i`` only when ``i < depth``;
* ``heads`` and ``mlp_ratio`` of layer ``i`` only when ``i < unique_blocks``,
  since layer ``i`` runs shared block ``i % unique_blocks`` and takes its width;
* ``lora_rank`` only when some block is shared (``unique_blocks < depth``);
* ``keep_ratio[j]`` only when ``reduction_layers[j] < depth``;
* ``loops`` only through ``unique_blocks = ceil(depth / loops)``: the canonical
  value is the smallest choice giving the same number of unique blocks.

The canonical form sets every inactive gene to its first (smallest) choice, so
two configs that build the same network have the same canonical form and
the same :attr:`SubnetConfig.arch_id`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from typing import Any

import numpy as np

from supernas.errors import SearchSpaceError, choices_text
from supernas.search_space.space import SearchSpace


@dataclass(frozen=True)
class SubnetConfig:
    """One architecture of a space; per-layer tuples have ``space.max_depth`` entries."""

    depth: int  # executed layers
    embed_dim: int  # token width
    loops: int  # passes over the shared blocks
    heads: tuple[int, ...]  # heads of layer i (taken from its block)
    mlp_ratio: tuple[float, ...]  # MLP ratio of layer i (taken from its block)
    lora_rank: tuple[int, ...]  # LoRA rank of layer i on its shared block
    weight_bits: tuple[int, ...]  # weight bit width of layer i
    act_bits: tuple[int, ...]  # activation bit width of layer i
    keep_ratio: tuple[float, ...]  # kept share of tokens at reduction point j

    @property
    def unique_blocks(self) -> int:
        return math.ceil(self.depth / self.loops)

    def block_of(self, layer: int) -> int:
        """Index of the shared block that layer ``layer`` runs."""
        return layer % self.unique_blocks

    def hidden_dim(self, block: int) -> int:
        """MLP hidden width of shared block ``block``."""
        return round(self.mlp_ratio[block] * self.embed_dim)

    @property
    def arch_id(self) -> str:
        """Stable 16-hex-digit hash of this config; canonicalise first to compare archs."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubnetConfig:
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(valid))
        missing = sorted(set(valid) - set(data))
        if unknown or missing:
            name = unknown[0] if unknown else missing[0]
            what = "unknown" if unknown else "missing"
            raise SearchSpaceError(f"subnet config: {what} field {name!r}; valid fields: {choices_text(valid)}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        kwargs["mlp_ratio"] = tuple(float(v) for v in kwargs["mlp_ratio"])
        kwargs["keep_ratio"] = tuple(float(v) for v in kwargs["keep_ratio"])
        return cls(**kwargs)


class GeneKind(Enum):
    """How many genes one schema entry spans; the value reads "one <value>" in errors."""

    GLOBAL = "global"  # one gene
    PER_LAYER = "per layer"  # ``space.max_depth`` genes, one per layer
    PER_REDUCTION = "per reduction point"  # ``space.num_reductions`` genes, one per reduction point


@dataclass(frozen=True)
class Gene:
    """One entry of a genome schema: a config field encoded as choice indices."""

    name: str  # readable gene name; a per-layer or per-reduction gene i reads ``name[i]``
    space_field: str  # field of SearchSpace holding the sorted choices
    config_field: str  # field of SubnetConfig holding the value (a tuple unless GLOBAL)
    kind: GeneKind  # how many genes the entry spans

    def count(self, space: SearchSpace) -> int:
        """Number of genes of this entry in ``space``."""
        if self.kind is GeneKind.GLOBAL:
            return 1
        return space.max_depth if self.kind is GeneKind.PER_LAYER else space.num_reductions

    def labels(self, space: SearchSpace) -> list[str]:
        """One readable name per gene, e.g. ``heads[3]``."""
        if self.kind is GeneKind.GLOBAL:
            return [self.name]
        return [f"{self.name}[{i}]" for i in range(self.count(space))]

    def choices(self, space: SearchSpace) -> tuple[Any, ...]:
        """The sorted choices of each gene of this entry; a gene is an index into them."""
        choices: tuple[Any, ...] = getattr(space, self.space_field)
        return choices

    def values_of(self, config: SubnetConfig) -> tuple[Any, ...]:
        """The values of this entry's genes in ``config`` (one for a GLOBAL entry)."""
        value = getattr(config, self.config_field)
        return (value,) if self.kind is GeneKind.GLOBAL else tuple(value)

    def field_value(self, values: Sequence[Any]) -> Any:
        """The config field value holding gene values ``values`` (inverse of :meth:`values_of`)."""
        return values[0] if self.kind is GeneKind.GLOBAL else tuple(values)


@dataclass(frozen=True)
class GenomeSchema:
    """The genome order: gene entries, each spanning :meth:`Gene.count` consecutive genes.

    Contract: ``config_type`` has the ``config_field`` of every entry and the
    space has its ``space_field``; a genome decodes to a ``config_type``.
    """

    genes: tuple[Gene, ...]  # entries in genome order
    config_type: type[SubnetConfig] = SubnetConfig  # the class a genome decodes to


GENOME = GenomeSchema(  # the genome of SubnetConfig: the one list of its genes, in genome order
    (
        Gene("depth", "depth", "depth", GeneKind.GLOBAL),
        Gene("embed_dim", "embed_dim", "embed_dim", GeneKind.GLOBAL),
        Gene("loops", "loops", "loops", GeneKind.GLOBAL),
        Gene("heads", "heads", "heads", GeneKind.PER_LAYER),
        Gene("mlp_ratio", "mlp_ratio", "mlp_ratio", GeneKind.PER_LAYER),
        Gene("lora_rank", "lora_rank", "lora_rank", GeneKind.PER_LAYER),
        Gene("weight_bits", "weight_bits", "weight_bits", GeneKind.PER_LAYER),
        Gene("act_bits", "act_bits", "act_bits", GeneKind.PER_LAYER),
        Gene("keep_ratio", "keep_ratio", "keep_ratio", GeneKind.PER_REDUCTION),
    )
)


def validate(space: SearchSpace, config: SubnetConfig, schema: GenomeSchema = GENOME) -> None:
    """Raise :class:`SearchSpaceError` naming the first gene of ``schema`` outside ``space``."""
    for gene in schema.genes:
        values = gene.values_of(config)
        count = gene.count(space)
        if len(values) != count:
            raise SearchSpaceError(
                f"subnet config field {gene.config_field!r}: {len(values)} entries; "
                f"valid: one {gene.kind.value} ({count})"
            )
        choices = gene.choices(space)
        for i, value in enumerate(values):
            if value not in choices:
                label = gene.config_field if gene.kind is GeneKind.GLOBAL else f"{gene.config_field}[{i}]"
                raise SearchSpaceError(
                    f"subnet config field {label!r}: {value!r} is not in the space; valid: {choices_text(choices)}"
                )


def canonical(space: SearchSpace, config: SubnetConfig, schema: GenomeSchema = GENOME) -> SubnetConfig:
    """Validate ``config`` against the genes of ``schema`` and set its inactive genes to their first choice."""
    validate(space, config, schema)
    depth = config.depth
    unique = config.unique_blocks
    loops = min(v for v in space.loops if math.ceil(depth / v) == unique)
    shared = unique < depth

    def per_layer(name: str, active: int) -> tuple[Any, ...]:
        first = getattr(space, name)[0]
        return tuple(v if i < active else first for i, v in enumerate(getattr(config, name)))

    keep = tuple(
        r if point < depth else space.keep_ratio[0] for r, point in zip(config.keep_ratio, space.reduction_layers)
    )
    return replace(
        config,
        loops=loops,
        heads=per_layer("heads", unique),
        mlp_ratio=per_layer("mlp_ratio", unique),
        lora_rank=per_layer("lora_rank", depth if shared else 0),
        weight_bits=per_layer("weight_bits", depth),
        act_bits=per_layer("act_bits", depth),
        keep_ratio=keep,
    )


def sample(space: SearchSpace, rng: np.random.Generator) -> SubnetConfig:
    """A canonical config with every gene drawn uniformly from its choices (in genome order)."""
    values: dict[str, Any] = {}
    for gene in GENOME.genes:
        choices = gene.choices(space)
        values[gene.config_field] = gene.field_value(
            [choices[i] for i in rng.integers(len(choices), size=gene.count(space))]
        )
    return canonical(space, SubnetConfig(**values))


def largest(space: SearchSpace) -> SubnetConfig:
    """The most expensive config: deepest, widest, no sharing, no pruning, float."""
    return canonical(space, replace(_at_choice(space, -1), loops=space.loops[0]))  # one loop: no sharing


def smallest(space: SearchSpace) -> SubnetConfig:
    """The cheapest config: shallowest, narrowest, most shared, fewest bits."""
    return canonical(space, replace(_at_choice(space, 0), loops=space.loops[-1]))  # most loops: most sharing


def _at_choice(space: SearchSpace, index: int) -> SubnetConfig:
    """A (not canonical) config with every gene at choice ``index`` of its choices."""
    values = {g.config_field: g.field_value([g.choices(space)[index]] * g.count(space)) for g in GENOME.genes}
    return SubnetConfig(**values)


def count_architectures(space: SearchSpace) -> int:
    """Number of distinct canonical configs (distinct networks) in ``space``."""
    total = 0
    for depth in space.depth:
        for unique in sorted({math.ceil(depth / loops) for loops in space.loops}):
            n = (len(space.heads) * len(space.mlp_ratio)) ** unique
            n *= len(space.lora_rank) ** depth if unique < depth else 1
            n *= (len(space.weight_bits) * len(space.act_bits)) ** depth
            n *= len(space.keep_ratio) ** sum(1 for point in space.reduction_layers if point < depth)
            total += n
    return total * len(space.embed_dim)
