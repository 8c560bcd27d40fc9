"""``supernas.api`` and ``supernas``: lazy re-exports that resolve, agree with the type checker's view, stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import supernas
import supernas.api as api

API_INIT = Path(api.__file__)


def test_every_export_resolves_to_the_module_the_table_names() -> None:
    for name, module in api._EXPORTS.items():
        value = getattr(api, name)
        assert getattr(sys.modules[module], name) is value
    assert api.__all__ == sorted(api._EXPORTS)


def test_the_type_checking_imports_list_exactly_the_exported_names() -> None:
    tree = ast.parse(API_INIT.read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If))
    imported = {(node.module, a.name) for node in guarded.body if isinstance(node, ast.ImportFrom) for a in node.names}
    assert imported == {(module, name) for name, module in api._EXPORTS.items()}


def test_top_level_entry_points_come_from_the_api() -> None:
    for name in supernas._ENTRY_POINTS:
        assert getattr(supernas, name) is getattr(api, name)


def test_read_only_use_cases_do_not_import_torch() -> None:
    reads = "a.list_searches, a.search_status, a.search_front, a.database_info"
    code = f"import sys, supernas.api as a; {reads}; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
