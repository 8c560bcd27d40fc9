"""``supernas export``: write a chosen subnet of a search as files that load without supernas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from supernas.cli.common import JsonOption, StorageOption, console, handle_errors, print_json


@handle_errors
def export(
    search: Annotated[str, typer.Argument(help="Search name.")],
    out: Annotated[Path, typer.Option("--out", help="New (or empty) directory to write.")],
    fmt: Annotated[str, typer.Option("--format", help="safetensors, pt2 or onnx.")] = "safetensors",
    rank: Annotated[
        int | None, typer.Option("--rank", help="Front member K, as `pareto show` lists it.", show_default=False)
    ] = None,
    arch: Annotated[
        str | None, typer.Option("--arch", help="Any completed arch_id of the search.", show_default=False)
    ] = None,
    knee: Annotated[bool, typer.Option("--knee", help="The knee of the measured front.")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="Real int8 for the layers searched at 8 bits.")] = False,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="inherited or trained (default: trained when the subnet has a completed training).",
            show_default=False,
        ),
    ] = None,
    storage: StorageOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export one subnet of a search (choose it with --rank, --arch or --knee)."""
    from supernas.api import TOLERANCE, ExportRequest, export_subnet

    result = export_subnet(ExportRequest(search, out, fmt, int8, rank, arch, knee, weights), storage)
    if as_json:
        print_json(result.to_dict())
        return
    exported, metrics = result.exported, result.metrics
    e = metrics["exported"]
    table = Table(title=f"Exported {metrics['arch_id']} to {exported.directory}")
    table.add_column("")
    table.add_column("value")
    w = metrics["weights"]
    table.add_row("weights", w["source"])
    if w["source"] == "trained":
        table.add_row("validation accuracy (inherited)", f"{w['inherited_val_accuracy']:.4f}")
    table.add_row("validation accuracy", f"{e['val_accuracy']:.4f}")
    table.add_row("test accuracy", f"{e['test_accuracy']:.4f}")
    table.add_row("latency", f"{e['latency_ms']:.3f} ms on {e['latency_device']}")
    table.add_row("params / MACs", f"{metrics['costs']['params']:,} / {metrics['costs']['macs']:,}")
    table.add_row("int8 layers", str(metrics["int8"]["layers"] or "none"))
    for name, size in exported.files.items():
        table.add_row(name, f"{size:,} bytes")
    for name, diff in exported.checks.items():
        share = exported.matching[name]
        table.add_row(f"{name} check", f"max |diff| {diff:.2e}; {share:.0%} of rows within {TOLERANCE:g}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the export command to the top-level app."""
    app.command("export")(export)
