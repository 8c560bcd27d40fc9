"""``supernas space``: show, validate and sample search spaces, list presets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from supernas.cli.common import JsonOption, console, handle_errors, print_json

app = typer.Typer(help="Show, validate and sample search spaces.", no_args_is_help=True)

TaskOption = Annotated[str, typer.Option("--task", help="Task: 'digits' or 'npz:PATH'.")]
SpaceOption = Annotated[
    Path | None, typer.Option("--space", help="Search space file (.toml or .json); default: the task's built-in space.")
]
PresetOption = Annotated[
    str | None,
    typer.Option("--space-preset", help="A named space (see `supernas space presets`).", show_default=False),
]


@app.command("show")
@handle_errors
def show(
    task: TaskOption = "digits",
    space_file: SpaceOption = None,
    preset: PresetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a search space: the choices of every axis and the range of costs."""
    from supernas.api import describe_space, resolve_space
    from supernas.api.spaces import FIELD_AXES

    summary = describe_space(*resolve_space(task, space_file, preset))
    if as_json:
        print_json(summary.to_dict())
        return
    table = Table(title=f"Search space for {task}")
    table.add_column("axis")
    table.add_column("field")
    table.add_column("choices")
    for field, value in summary.space.to_dict().items():
        table.add_row(FIELD_AXES[field], field, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    console.print(table)
    ranges = ", ".join(
        f"{key} {low:,}–{high:,}"
        for key, (low, high) in (
            ("params", summary.params),
            ("macs", summary.macs),
            ("model_bytes", summary.model_bytes),
        )
    )
    console.print(f"{summary.architectures:,} distinct architectures; {summary.tokens} tokens per input; {ranges}")


@app.command("validate")
@handle_errors
def validate(
    space_file: Annotated[Path, typer.Argument(help="Search space file (.toml or .json).")],
    task: Annotated[str | None, typer.Option("--task", help="Also check that the space fits this task.")] = None,
) -> None:
    """Check a search space file; exit code 2 with the first problem if it is invalid."""
    from supernas.api import validate_space_file

    _, count = validate_space_file(space_file, task)
    console.print(f"OK: {space_file} is a valid search space ({count:,} architectures)")


@app.command("sample")
@handle_errors
def sample_configs(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of configs.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampler.")] = 0,
    task: TaskOption = "digits",
    space_file: SpaceOption = None,
    preset: PresetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draw random subnet configs with their analytic costs."""
    from supernas.api import resolve_space, sample_subnets

    rows = sample_subnets(*resolve_space(task, space_file, preset), n, seed)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    table = Table(title=f"{n} random subnets (seed {seed})")
    for column in ("arch_id", "depth", "embed", "loops", "heads", "bits w/a", "keep", "params", "MACs", "bytes"):
        table.add_column(column)
    for row in rows:
        c = row.config
        d = c.depth
        table.add_row(
            c.arch_id,
            str(d),
            str(c.embed_dim),
            str(c.loops),
            ",".join(map(str, c.heads[: c.unique_blocks])),
            ",".join(f"{w}/{a}" for w, a in zip(c.weight_bits[:d], c.act_bits[:d])),
            ",".join(map(str, c.keep_ratio)),
            f"{row.params:,}",
            f"{row.macs:,}",
            f"{row.model_bytes:,}",
        )
    console.print(table)


@app.command("presets")
@handle_errors
def presets(as_json: JsonOption = False) -> None:
    """List the named spaces that --space-preset takes."""
    from supernas.api import list_presets

    presets = list_presets()
    if as_json:
        print_json([{"name": p.name, "description": p.description, "max_tokens": p.max_tokens} for p in presets])
        return
    table = Table(title="Space presets (the patch size is the smallest leaving at most max_tokens tokens)")
    for column in ("name", "description", "max_tokens"):
        table.add_column(column)
    for p in presets:
        table.add_row(p.name, p.description, str(p.max_tokens))
    console.print(table)
