"""CLI plumbing: errors name flags, the import rule of cli/."""

from __future__ import annotations

import ast
from pathlib import Path

import supernas.cli
from supernas.cli.common import error_text, flag
from supernas.errors import SearchError, TrainingDivergedError

ALLOWED = ("supernas.api", "supernas.errors", "supernas.cli", "typer", "rich", "__future__")
STDLIB = ("collections", "contextlib", "dataclasses", "functools", "json", "os", "pathlib", "re", "signal", "sys")
STDLIB += ("importlib", "traceback", "types", "typing")


def test_cli_imports_nothing_but_the_api_errors_itself_and_rendering_libraries() -> None:
    for path in Path(supernas.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            for module in modules:
                ok = module.startswith(ALLOWED) or module.split(".")[0] in STDLIB
                assert ok, f"{path.name} imports {module}"


def test_fields_become_flags_in_one_place() -> None:
    assert flag("batch_size") == "--batch" and flag("cpus_per_worker") == "--cpus-per-worker"
    exc = SearchError("5 is smaller than `batch_size` 10; valid: a budget >= the batch", field="budget")
    assert str(exc) == "budget 5 is smaller than `batch_size` 10; valid: a budget >= the batch"
    assert error_text(exc) == "--budget 5 is smaller than --batch 10; valid: a budget >= the batch"
    assert (
        error_text(SearchError(": unknown objective 'x'", field="objectives")) == "--objectives: unknown objective 'x'"
    )
    assert TrainingDivergedError("loss nan").exit_code == 1 and SearchError("x").exit_code == 2
