"""Exports: choose a member of a stored search, extract it (with its trained weights, when it has them), measure it,
write it, record it."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

import supernas
from supernas.api.finetune import trained_weights
from supernas.api.reports import completed_members, front_members
from supernas.api.supernets import load_registered_supernet
from supernas.data import TaskData
from supernas.errors import ExportError
from supernas.export.artifacts import Exported, InputInfo, check_format, check_out, write_export
from supernas.export.choose import choose
from supernas.export.int8 import int8_layers, to_int8
from supernas.search_space import FLOAT_BITS, SubnetConfig, costs
from supernas.store import Store, TrainingRecord
from supernas.supernet import extract
from supernas.supernet.checkpoint import LoadedSupernet
from supernas.supernet.finetune import load_trained_weights
from supernas.supernet.measure import LatencySettings, accuracy, latency_ms
from supernas.supernet.static import StaticSubnet


@dataclass(frozen=True)
class ExportRequest:
    """Which member of which search to write, and how."""

    search: str  # search name
    out: Path  # new (or empty) directory to create (a str is taken as a path)
    fmt: str = "safetensors"  # one of FORMATS
    int8: bool = False  # real int8 for the layers searched at 8 bits
    rank: int | None = None  # 1-based rank in the front as `pareto show` lists it
    arch: str | None = None  # any completed arch_id of the search
    knee: bool = False  # the knee of the front
    weights: str | None = None  # "inherited" or "trained"; None: trained when the subnet has a completed training

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))


@dataclass(frozen=True)
class ExportResult:
    """A written export: the directory and what was measured and checked."""

    exported: Exported  # directory, files, per-format check results
    metrics: dict[str, Any]  # also in metrics.json: accuracy, latency, costs, provenance

    def to_dict(self) -> dict[str, Any]:
        """What ``supernas export --json`` prints."""
        return {
            "directory": str(self.exported.directory),
            "checks": self.exported.checks,
            "check_rows_matching": self.exported.matching,
            **self.metrics,
        }


def export_subnet(request: ExportRequest, storage: str | None = None) -> ExportResult:
    """Write the chosen subnet of ``request.search`` in the store at ``storage``, and record the export."""
    with Store.open(storage) as store:
        return export_search(store, request)


def export_search(store: Store, request: ExportRequest) -> ExportResult:
    """Write the chosen subnet of ``request.search`` and record the export in ``store``."""
    from supernas.data import load_task

    check_format(request.fmt, request.int8)  # before any work
    check_out(request.out)
    if request.weights is not None and request.weights not in WEIGHTS:
        raise ExportError(f"{request.weights!r} is not valid; valid: {', '.join(WEIGHTS)}", field="weights")
    record = store.get_search(request.search)
    if record.supernet_name is None:
        raise ExportError(f"search {request.search!r} has no supernet (a synthetic search); nothing to export")
    rows = [m.to_dict() for m in front_members(store, request.search)]
    complete = {a: m.to_dict() for a, m in completed_members(store, request.search).items()}
    row = choose(rows, record.objectives, request.rank, request.arch, request.knee, complete)
    config = SubnetConfig.from_dict(row["config"])
    training = _training_to_ship(store, request, config.arch_id)
    loaded = load_registered_supernet(store, record.supernet_name)
    task = load_task(loaded.task)
    reference = extract(loaded.supernet, config).eval()  # the fake-quantized subnet
    if training is not None:
        assert training.weights_path is not None and training.weights_sha256 is not None
        load_trained_weights(reference, training.weights_path, training.weights_sha256)
    static = to_int8(reference) if request.int8 else reference
    if request.int8 and not int8_layers(static):
        raise ExportError(
            f"subnet {config.arch_id} has no layer searched at 8 bits; export it without `int8`", field="int8"
        )
    metrics = _metrics(static, reference, task, row, config, loaded, request)
    metrics["weights"] = _weights_info(row, training)
    info = InputInfo(task.spec, task.class_names, task.mean, task.std)
    exported = write_export(
        static, loaded.supernet.space, config, info, request.out, request.fmt, metrics, model_card(metrics)
    )
    metrics["files"] = exported.files
    fmt = f"{request.fmt}+int8" if request.int8 else request.fmt
    store.add_export(request.search, config.arch_id, fmt, str(request.out.resolve()), metrics)
    return ExportResult(exported, metrics)


WEIGHTS = ("inherited", "trained")  # which weights an export ships


def _training_to_ship(store: Store, request: ExportRequest, arch_id: str) -> TrainingRecord | None:
    """The training whose weights the export ships (None: the supernet's inherited weights)."""
    if request.weights == "inherited":
        return None
    training = trained_weights(store, request.search, arch_id)
    if training is None and request.weights == "trained":
        raise ExportError(
            f"'trained' is not available: subnet {arch_id} has no completed training; valid: inherited (or "
            "fine-tune it first)",
            field="weights",
        )
    return training


def _weights_info(row: Mapping[str, Any], training: TrainingRecord | None) -> dict[str, Any]:
    """Which weights an export holds, with both validation accuracies (metrics.json ``weights``)."""
    inherited = (row.get("metrics") or {}).get("accuracy")
    if training is None:
        return {"source": "inherited", "inherited_val_accuracy": inherited, "trained_val_accuracy": None}
    return {
        "source": "trained",
        "inherited_val_accuracy": inherited,
        "trained_val_accuracy": training.val_accuracy,
        "trained_test_accuracy": training.test_accuracy,
        "training": {
            "init": training.init,
            "seed": training.seed,
            "teacher": training.teacher,
            "epochs": training.epochs,
            "settings": training.settings,
            "weights_path": training.weights_path,
            "weights_sha256": training.weights_sha256,
        },
    }


def _metrics(
    static: StaticSubnet,
    reference: StaticSubnet,
    task: TaskData,
    row: Mapping[str, Any],
    config: SubnetConfig,
    loaded: LoadedSupernet,
    request: ExportRequest,
) -> dict[str, Any]:
    example = task.val.x[:1]  # (1, ...)
    settings = LatencySettings()
    analytic = costs(loaded.supernet.space, config, loaded.supernet.spec)
    exported = {
        "val_accuracy": accuracy(static, task.val.x, task.val.y),
        "test_accuracy": accuracy(static, task.test.x, task.test.y),
        "latency_ms": latency_ms(static, example, settings)[0],
        "latency_device": f"cpu ({platform.processor() or platform.machine()}, {settings.threads} thread)",
        "latency_batch": settings.batch_size,
    }
    if request.int8:
        exported["fake_quant_test_accuracy"] = accuracy(reference, task.test.x, task.test.y)
        exported["fake_quant_latency_ms"] = latency_ms(reference, example, settings)[0]
    return {
        "arch_id": config.arch_id,
        "config": config.to_dict(),
        "searched": {k: v for k, v in (row["metrics"] or {}).items()},
        "searched_device": row.get("device"),
        "exported": exported,
        "costs": {
            "params": analytic.params,
            "macs": analytic.macs,
            "model_bytes": analytic.model_bytes,
            "note": "model_bytes counts weights at their searched bits; 4-bit layers are stored as float32 "
            "(simulated) in the file, and int8 layers as int8 only with --int8",
        },
        "int8": {"enabled": request.int8, "layers": int8_layers(static)},
        "provenance": {
            "search": request.search,
            "supernet_checkpoint": str(loaded.path),
            "supernet_sha256": loaded.sha256,
            "task": loaded.task,
            "supernas_version": supernas.__version__,
            "torch_version": torch.__version__,
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


def _weights_line(weights: Mapping[str, Any] | None) -> str:
    """The model card's description of the shipped weights."""
    if not weights:
        return "inherited from the supernet"
    inherited = weights["inherited_val_accuracy"]
    before = "" if inherited is None else f"validation accuracy {inherited:.4f} in the search"
    if weights["source"] == "inherited":
        return f"inherited from the supernet, not trained further ({before or 'not measured'})"
    t = weights["training"]
    return (
        f"trained further: {t['epochs']} epochs from {t['init']} weights (seed {t['seed']}, teacher {t['teacher']}); "
        f"validation accuracy {weights['trained_val_accuracy']:.4f} trained"
        + (f", {inherited:.4f} inherited" if inherited is not None else "")
    )


def model_card(metrics: dict[str, Any]) -> str:
    """A short Markdown model card for an export directory."""
    c, e, p = metrics["config"], metrics["exported"], metrics["provenance"]
    lines = [
        f"# supernas subnet {metrics['arch_id']}",
        "",
        f"A transformer classifier for task `{p['task']}`, chosen from search `{p['search']}` and extracted "
        f"from supernet `{Path(p['supernet_checkpoint']).name}` (sha256 `{p['supernet_sha256'][:16]}…`).",
        "",
        "| | |",
        "|---|---|",
        f"| depth / embed dim / loops | {c['depth']} / {c['embed_dim']} / {c['loops']} |",
        f"| heads per layer | {c['heads'][: c['depth']]} |",
        f"| weight bits per layer | {c['weight_bits'][: c['depth']]} |",
        f"| weights | {_weights_line(metrics.get('weights'))} |",
        f"| validation accuracy | {e['val_accuracy']:.4f} |",
        f"| test accuracy | {e['test_accuracy']:.4f} |",
        f"| latency | {e['latency_ms']:.3f} ms (batch {e['latency_batch']}, {e['latency_device']}) |",
        f"| params / MACs | {metrics['costs']['params']:,} / {metrics['costs']['macs']:,} |",
        f"| int8 layers | {metrics['int8']['layers'] or 'none'} |",
        "",
        "Inputs are standardised per channel with `mean` and `std` from `config.json` (training split "
        "statistics); outputs are logits over `class_names`.",
        "",
        "```python",
        "import supernas.export",
        "model = supernas.export.load('.')  # from model.safetensors + config.json",
        "```",
        "`model.pt2` (if present): `torch.export.load('model.pt2').module()`. "
        "`model.onnx` (if present): onnxruntime, input `x`, output `logits`; both take any batch size.",
        "",
        "Limitations: accuracy was measured on the task's own splits only. Layers searched at 4 bits keep "
        "simulated (fake-quantized float32) weights."
        + (
            " Activations quantized below 32 bits are rounded inside the graph: onnxruntime, whose float "
            "kernels round differently in the last bits, can move a logit by 1e-3 to 1e-2 on a few inputs."
            if any(bits < FLOAT_BITS for bits in c["act_bits"][: c["depth"]])
            else ""
        )
        + (
            " Int8 layers quantize each token's input to 7 bits (its own minimum to maximum), where training "
            "simulated 8 bits symmetric around zero."
            if metrics["int8"]["layers"]
            else ""
        ),
        "",
        f"supernas {p['supernas_version']}, torch {p['torch_version']}, exported {p['exported_at']}.",
        "",
    ]
    return "\n".join(lines)
