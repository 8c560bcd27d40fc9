"""``supernas space``: show, validate and sample search spaces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from supernas.cli.common import console, handle_errors, print_json
from supernas.search_space import (
    InputSpec,
    SearchSpace,
    SubnetConfig,
    costs,
    count_architectures,
    default_space,
    largest,
    sample,
    smallest,
)

app = typer.Typer(help="Show, validate and sample search spaces.", no_args_is_help=True)

TaskOption = Annotated[str, typer.Option("--task", help="Task: 'digits' or 'npz:PATH'.")]
SpaceOption = Annotated[
    Path | None, typer.Option("--space", help="Search space file (.toml or .json); default: the task's built-in space.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]

AXES = {
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


def resolve_space(task: str, space_file: Path | None) -> tuple[SearchSpace, InputSpec]:
    """The space to use (from ``space_file`` or the task's default) and the task's input spec."""
    from supernas.data import task_spec

    spec = task_spec(task)
    space = SearchSpace.load(space_file) if space_file is not None else default_space(spec)
    space.check_input(spec)
    return space, spec


def _summary(space: SearchSpace, spec: InputSpec) -> dict[str, Any]:
    small, big = costs(space, smallest(space), spec), costs(space, largest(space), spec)
    return {
        "architectures": count_architectures(space),
        "tokens": spec.num_patches(space.patch_size) + 1,
        "params": [small.params, big.params],
        "macs": [small.macs, big.macs],
        "model_bytes": [small.model_bytes, big.model_bytes],
    }


@app.command("show")
@handle_errors
def show(task: TaskOption = "digits", space_file: SpaceOption = None, as_json: JsonOption = False) -> None:
    """Show a search space: the choices of every axis and the range of costs."""
    space, spec = resolve_space(task, space_file)
    summary = _summary(space, spec)
    if as_json:
        print_json({"space": space.to_dict(), "input": spec.to_dict(), **summary})
        return
    table = Table(title=f"Search space for {task}")
    table.add_column("axis")
    table.add_column("field")
    table.add_column("choices")
    for field, value in space.to_dict().items():
        table.add_row(AXES[field], field, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    console.print(table)
    ranges = ", ".join(f"{key} {summary[key][0]:,}–{summary[key][1]:,}" for key in ("params", "macs", "model_bytes"))
    count, tokens = summary["architectures"], summary["tokens"]
    console.print(f"{count:,} distinct architectures; {tokens} tokens per input; {ranges}")


@app.command("validate")
@handle_errors
def validate(
    space_file: Annotated[Path, typer.Argument(help="Search space file (.toml or .json).")],
    task: Annotated[str | None, typer.Option("--task", help="Also check that the space fits this task.")] = None,
) -> None:
    """Check a search space file; exit code 2 with the first problem if it is invalid."""
    space = SearchSpace.load(space_file)
    if task is not None:
        resolve_space(task, space_file)
    console.print(f"OK: {space_file} is a valid search space ({count_architectures(space):,} architectures)")


@app.command("sample")
@handle_errors
def sample_configs(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of configs.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampler.")] = 0,
    task: TaskOption = "digits",
    space_file: SpaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draw random subnet configs with their analytic costs."""
    space, spec = resolve_space(task, space_file)
    rng = np.random.default_rng(seed)
    rows = [_describe(space, spec, sample(space, rng)) for _ in range(n)]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{n} random subnets (seed {seed})")
    for column in ("arch_id", "depth", "embed", "loops", "heads", "bits w/a", "keep", "params", "MACs", "bytes"):
        table.add_column(column)
    for row in rows:
        c = SubnetConfig.from_dict(row["config"])
        d = c.depth
        table.add_row(
            row["arch_id"],
            str(d),
            str(c.embed_dim),
            str(c.loops),
            ",".join(map(str, c.heads[: c.unique_blocks])),
            ",".join(f"{w}/{a}" for w, a in zip(c.weight_bits[:d], c.act_bits[:d])),
            ",".join(map(str, c.keep_ratio)),
            f"{row['params']:,}",
            f"{row['macs']:,}",
            f"{row['model_bytes']:,}",
        )
    console.print(table)


def _describe(space: SearchSpace, spec: InputSpec, config: SubnetConfig) -> dict[str, Any]:
    c = costs(space, config, spec)
    return {
        "arch_id": config.arch_id,
        "config": config.to_dict(),
        "params": c.params,
        "macs": c.macs,
        "model_bytes": c.model_bytes,
    }
