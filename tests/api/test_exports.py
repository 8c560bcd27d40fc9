"""``api/exports.py``: the chosen member of a stored search written, measured and recorded; refused requests
write and record nothing; the model card.

Exports of fine-tuned weights (and a changed weights file) are tested with the fine-tuning they need, in
``test_finetune.py``; the CLI's success paths and usage errors in ``tests/cli/test_export_cmds.py``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from supernas.api import (
    EvaluationSettings,
    ExportRequest,
    SearchRequest,
    Store,
    create_search,
    export_search,
    export_subnet,
    start_search,
)
from supernas.api.exports import model_card
from supernas.api.reports import front_members
from supernas.errors import ExportError
from supernas.export import load
from supernas.export.choose import knee
from supernas.search_space import SubnetConfig, canonical, costs, largest
from supernas.supernet.checkpoint import file_sha256, load_supernet

FILES = {"model.safetensors", "config.json", "metrics.json", "README.md"}


@dataclass(frozen=True)
class Searched:
    """A directory with the tiny supernet and a store holding search ``s`` of it and the synthetic ``syn``."""

    root: Path
    url: str
    float_arch: str  # a completed subnet of ``s`` with no 8-bit layer
    int8_arch: str  # a completed subnet of ``s`` whose layers are searched at 8 bits


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Searched:
    root = tmp_path_factory.mktemp("exports-api")
    shutil.copy(tiny_checkpoint, root / "tiny.pt")
    url = f"sqlite:///{root / 'supernas.db'}"
    request = SearchRequest.parse("accuracy,latency_ms", [], "random", budget=4, batch_size=2, seed=0)
    start_search(
        str(root / "tiny.pt"), request, EvaluationSettings(executor="local", device="cpu"), name="s", storage=url
    )
    space = load_supernet(root / "tiny.pt").supernet.space
    float_config = canonical(space, replace(largest(space), weight_bits=(32,) * space.max_depth))
    int8_config = canonical(space, replace(largest(space), weight_bits=(8,) * space.max_depth))
    with Store.open(url) as store:
        create_search(store, "syn", request, None)
        for config in (float_config, int8_config):  # measured elsewhere, say: any COMPLETE row can be exported
            store.complete("s", config.arch_id, {"accuracy": 0.5, "latency_ms": 1.0}, config=config.to_dict())
    return Searched(root, url, float_config.arch_id, int8_config.arch_id)


def _exports(url: str) -> int:
    with Store.open(url) as store:
        return len(store.exports("s"))


def test_the_knee_is_written_measured_and_recorded(searched: Searched) -> None:
    out = searched.root / "knee"
    request = ExportRequest("s", str(out), knee=True)  # type: ignore[arg-type]
    assert request.out == out  # a str is taken as a path
    result = export_subnet(request, searched.url)
    with Store.open(searched.url) as store:
        rows = [m.to_dict() for m in front_members(store, "s")]
        chosen = rows[knee(rows, store.get_search("s").objectives)]
        (record,) = [e for e in store.exports("s") if e.path == str(out.resolve())]
    metrics = result.metrics
    assert metrics["arch_id"] == chosen["arch_id"] and metrics["config"] == chosen["config"]
    assert metrics["searched"] == chosen["metrics"]
    assert metrics["exported"]["val_accuracy"] == chosen["metrics"]["accuracy"]  # the searched subnet, its weights
    assert 0 <= metrics["exported"]["test_accuracy"] <= 1 and metrics["exported"]["latency_ms"] > 0
    assert metrics["weights"] == {
        "source": "inherited",
        "inherited_val_accuracy": chosen["metrics"]["accuracy"],
        "trained_val_accuracy": None,
    }
    assert metrics["int8"] == {"enabled": False, "layers": []}
    loaded = load_supernet(searched.root / "tiny.pt")
    analytic = costs(loaded.supernet.space, SubnetConfig.from_dict(chosen["config"]), loaded.supernet.spec)
    assert (metrics["costs"]["params"], metrics["costs"]["macs"]) == (analytic.params, analytic.macs)
    provenance = metrics["provenance"]
    assert (provenance["search"], provenance["task"]) == ("s", "digits")
    assert provenance["supernet_sha256"] == file_sha256(searched.root / "tiny.pt")
    assert set(result.exported.files) == set(metrics["files"]) == FILES
    assert (out / "README.md").read_text() == model_card(metrics)
    assert json.loads((out / "metrics.json").read_text())["arch_id"] == metrics["arch_id"]
    assert sum(p.numel() for p in load(out).parameters()) == analytic.params
    assert (record.arch_id, record.format) == (metrics["arch_id"], "safetensors")
    data = result.to_dict()
    assert data["directory"] == str(out) and data["checks"] == result.exported.checks
    assert data["check_rows_matching"] == result.exported.matching and data["arch_id"] == metrics["arch_id"]
    json.dumps(data)  # what `export --json` prints


def test_any_completed_subnet_by_arch_with_real_int8_layers(searched: Searched) -> None:
    out = searched.root / "int8"
    with Store.open(searched.url) as store:
        result = export_search(store, ExportRequest("s", out, arch=searched.int8_arch, int8=True))
        (record,) = [e for e in store.exports("s") if e.path == str(out.resolve())]
    metrics = result.metrics
    assert metrics["arch_id"] == searched.int8_arch and record.format == "safetensors+int8"
    assert metrics["searched"] == {"accuracy": 0.5, "latency_ms": 1.0}
    assert metrics["int8"]["enabled"] and metrics["int8"]["layers"]
    assert {"fake_quant_test_accuracy", "fake_quant_latency_ms"} <= set(metrics["exported"])
    assert "Int8 layers quantize each token's input" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"fmt": "tflite", "search": "nope"}, "fmt", "'tflite' is not valid; valid: safetensors, pt2, onnx"),
        ({"weights": "bogus"}, "weights", "'bogus' is not valid; valid: inherited, trained"),
        ({"weights": "trained"}, "weights", "'trained' is not available: subnet "),
        ({"search": "syn"}, None, "search 'syn' has no supernet (a synthetic search); nothing to export"),
        ({"int8": True, "knee": False, "arch": "float"}, "int8", "has no layer searched at 8 bits; export it without"),
    ],
)
def test_refused_requests_write_and_record_nothing(
    searched: Searched, changes: dict[str, Any], field: str | None, message: str
) -> None:
    out = searched.root / "refused"
    fields: dict[str, Any] = {"search": "s", "out": out, "knee": True, **changes}
    if fields.get("arch") == "float":
        fields["arch"] = searched.float_arch
    before = _exports(searched.url)
    with pytest.raises(ExportError) as info:
        export_subnet(ExportRequest(**fields), searched.url)
    assert info.value.field == field and message in str(info.value)
    assert not out.exists() and _exports(searched.url) == before


def _card_metrics(**changes: Any) -> dict[str, Any]:
    """Metrics as an export records them (only what the model card reads)."""
    metrics: dict[str, Any] = {
        "arch_id": "0123456789abcdef",
        "config": {
            "depth": 2,
            "embed_dim": 24,
            "loops": 1,
            "heads": [2, 1, 1],
            "weight_bits": [8, 32, 4],
            "act_bits": [32, 32, 8],
        },
        "exported": {
            "val_accuracy": 0.91,
            "test_accuracy": 0.9,
            "latency_ms": 0.25,
            "latency_batch": 1,
            "latency_device": "cpu (x86_64, 1 thread)",
        },
        "costs": {"params": 12345, "macs": 678901},
        "int8": {"enabled": False, "layers": []},
        "provenance": {
            "search": "s",
            "task": "digits",
            "supernet_checkpoint": "/x/tiny.pt",
            "supernet_sha256": "ab" * 32,
            "supernas_version": "0.1.0",
            "torch_version": "2.13.0",
            "exported_at": "2030-01-01T00:00:00+00:00",
        },
    }
    return {**metrics, **changes}


def test_the_model_card_describes_the_subnet_and_its_provenance() -> None:
    card = model_card(_card_metrics())
    lines = card.splitlines()
    assert lines[0] == "# supernas subnet 0123456789abcdef"
    assert "from search `s` and extracted from supernet `tiny.pt` (sha256 `abababababababab…`)" in card
    for row in (
        "| depth / embed dim / loops | 2 / 24 / 1 |",
        "| heads per layer | [2, 1] |",  # the executed layers only
        "| weight bits per layer | [8, 32] |",
        "| weights | inherited from the supernet |",
        "| test accuracy | 0.9000 |",
        "| latency | 0.250 ms (batch 1, cpu (x86_64, 1 thread)) |",
        "| params / MACs | 12,345 / 678,901 |",
        "| int8 layers | none |",
    ):
        assert row in lines
    assert "onnxruntime" not in card.split("Limitations:")[1]  # no executed layer rounds its activations
    assert "Int8 layers" not in card
    assert lines[-1] == "supernas 0.1.0, torch 2.13.0, exported 2030-01-01T00:00:00+00:00."


def test_the_model_card_notes_rounded_activations_int8_layers_and_trained_weights() -> None:
    config = {**_card_metrics()["config"], "depth": 3}  # the third layer rounds activations to 8 bits
    training = {"epochs": 3, "init": "inherited", "seed": 1, "teacher": "largest"}
    weights = {"source": "trained", "inherited_val_accuracy": 0.8, "trained_val_accuracy": 0.85, "training": training}
    card = model_card(_card_metrics(config=config, int8={"enabled": True, "layers": [0]}, weights=weights))
    assert "can move a logit by 1e-3 to 1e-2" in card and "Int8 layers quantize each token's input" in card
    assert "| int8 layers | [0] |" in card.splitlines()
    assert (
        "| weights | trained further: 3 epochs from inherited weights (seed 1, teacher largest); validation accuracy "
        "0.8500 trained, 0.8000 inherited |"
    ) in card.splitlines()
    inherited = {"source": "inherited", "inherited_val_accuracy": None, "trained_val_accuracy": None}
    assert "| weights | inherited from the supernet, not trained further (not measured) |" in model_card(
        _card_metrics(weights=inherited)
    )
