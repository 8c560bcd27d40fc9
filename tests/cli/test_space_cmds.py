"""``supernas space``: CliRunner for every path, one real subprocess for the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from supernas.cli.main import app
from supernas.search_space import SearchSpace, SubnetConfig, canonical

runner = CliRunner()


def test_show_json_round_trips_the_default_space() -> None:
    result = runner.invoke(app, ["space", "show", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert SearchSpace.from_dict(data["space"]) == SearchSpace(patch_size=2)
    assert data["tokens"] == 17 and data["architectures"] > 10**12
    assert data["params"][0] < data["params"][1]


def test_show_table_names_every_axis() -> None:
    result = runner.invoke(app, ["space", "show"])
    assert result.exit_code == 0
    for axis in ("depth", "width", "tokens", "recursion", "quantization"):
        assert axis in result.stdout


def test_validate_and_show_a_space_file(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    SearchSpace(depth=(2, 3), reduction_layers=(1,), loops=(1, 2)).save(path)
    result = runner.invoke(app, ["space", "validate", str(path)])
    assert result.exit_code == 0 and "OK" in result.stdout
    shown = json.loads(runner.invoke(app, ["space", "show", "--space", str(path), "--json"]).stdout)
    assert shown["space"]["depth"] == [2, 3]


def test_sample_is_seeded_and_canonical() -> None:
    first = json.loads(runner.invoke(app, ["space", "sample", "--n", "4", "--seed", "3", "--json"]).stdout)
    again = json.loads(runner.invoke(app, ["space", "sample", "--n", "4", "--seed", "3", "--json"]).stdout)
    assert first == again and len(first) == 4
    space = SearchSpace(patch_size=2)
    for row in first:
        config = SubnetConfig.from_dict(row["config"])
        assert canonical(space, config) == config and row["arch_id"] == config.arch_id


def test_bad_space_files_give_one_line_errors(tmp_path: Path) -> None:
    cases = {
        "unknown.toml": ("depht = [2]\n", "unknown field 'depht'; valid fields: depth"),
        "empty.json": ('{"depth": []}', "'depth': the list of choices is empty"),
        "range.json": ('{"keep_ratio": [0.5, 1.5]}', "valid: numbers in (0, 1]"),
        "heads.json": ('{"heads": [8]}', "exceeds the largest embed_dim 64; valid: heads ≤ 4"),
    }
    for name, (text, fragment) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        result = runner.invoke(app, ["space", "validate", str(path)])
        assert result.exit_code == 2, name
        assert result.stderr.startswith("Error: ") and fragment in result.stderr
        assert result.stderr.count("\n") == 1
    patch = tmp_path / "patch.json"
    patch.write_text('{"patch_size": 3}')
    result = runner.invoke(app, ["space", "show", "--space", str(patch)])
    assert result.exit_code == 2 and "patch_size 3 does not divide the input" in result.stderr


def test_console_script_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "supernas.cli.main", "space", "sample", "--n", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2
    bad = subprocess.run(
        [sys.executable, "-m", "supernas.cli.main", "space", "show", "--task", "mnist"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ") and "digits" in bad.stderr
