"""Writing a chosen subnet to disk, and loading it back without its supernet.

Every export directory holds ``model.safetensors`` + ``config.json`` (what
:func:`load` reads), ``metrics.json`` and a model card ``README.md``; ``--format
pt2`` adds ``model.pt2`` (``torch.export``, dynamic batch) and ``--format onnx``
adds ``model.onnx`` (dynamo exporter, dynamic batch). Every file is checked against
the static subnet (see :func:`accept`) before the directory appears: the directory is
built under a temporary name and renamed into place, so a failed export leaves
nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from supernas.atomic import atomic_directory, check_path_name, check_writable, write_json
from supernas.errors import ExportError
from supernas.export.int8 import int8_layers, to_int8
from supernas.search_space import FLOAT_BITS, InputSpec, SearchSpace, SubnetConfig
from supernas.supernet import Supernet, extract
from supernas.supernet.static import StaticLayer, StaticSubnet

FORMATS = ("safetensors", "pt2", "onnx")
FORMAT_VERSION = "supernas-export/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PT2_FILE = "model.pt2"
ONNX_FILE = "model.onnx"
METRICS_FILE = "metrics.json"
CARD_FILE = "README.md"
CHECK_BATCH = 64  # rows of the equality check, a batch size different from the traced one
TRACE_BATCH = 2  # batch size the graph is traced with (1 would specialise the batch dimension)
TOLERANCE = 1e-4  # max abs difference allowed between an exported graph and the static subnet, per row
MIN_MATCHING_ROWS = 0.75  # share of rows within TOLERANCE an ONNX graph with rounded activations needs


@dataclass(frozen=True)
class InputInfo:
    """What an exported model expects and predicts."""

    spec: InputSpec  # input kind, shape of one example, number of classes
    class_names: tuple[str, ...]  # one per output logit
    mean: tuple[float, ...]  # per-channel mean to subtract from raw inputs
    std: tuple[float, ...]  # per-channel std to divide raw inputs by

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.spec.to_dict(),
            "class_names": list(self.class_names),
            "mean": list(self.mean),
            "std": list(self.std),
        }


@dataclass(frozen=True)
class Exported:
    """A written export directory."""

    directory: Path  # where it lies
    files: dict[str, int]  # file name -> size in bytes
    checks: dict[str, float]  # format -> max abs difference to the static subnet over the check rows
    matching: dict[str, float]  # format -> share of the check rows within TOLERANCE


def build(supernet: Supernet, config: SubnetConfig, int8: bool) -> StaticSubnet:
    """The static subnet of ``config``, with real int8 layers when ``int8``."""
    static = extract(supernet, config).eval()
    return to_int8(static) if int8 else static


def write_export(
    static: StaticSubnet,
    space: SearchSpace,
    config: SubnetConfig,
    info: InputInfo,
    out: Path,
    fmt: str,
    metrics: dict[str, Any],
    card: str,
) -> Exported:
    """Write ``static`` to the new directory ``out`` (see the module docstring)."""
    int8 = bool(int8_layers(static))
    check_format(fmt, int8)
    check_out(out)
    with atomic_directory(out) as tmp:
        _write_weights(static, space, config, info, int8, tmp)
        example = _example(info.spec, TRACE_BATCH)
        x = _example_like(example, CHECK_BATCH)
        diffs = {"safetensors": _row_diffs(static, load(tmp), x)}  # (CHECK_BATCH,) each
        if fmt == "pt2":
            diffs["pt2"] = _write_pt2(static, example, tmp / PT2_FILE, x)
        if fmt == "onnx":
            diffs["onnx"] = _write_onnx(static, example, tmp / ONNX_FILE, x)
        for name, rows in diffs.items():
            accept(name, rows, rounding=name == "onnx" and rounds_activations(static))
        checks = {name: float(rows.max()) for name, rows in diffs.items()}
        matching = {name: float((rows <= TOLERANCE).double().mean()) for name, rows in diffs.items()}
        write_json(tmp / METRICS_FILE, {**metrics, "checks": checks, "check_rows_matching": matching})
        (tmp / CARD_FILE).write_text(card)
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir())}
    return Exported(out, files, checks, matching)


def accept(fmt: str, rows: Tensor, rounding: bool) -> None:
    """Raise ``ExportError`` unless an export matches its subnet on the check rows.

    ``rows`` holds each check row's max abs difference to the static subnet. Files run by
    PyTorch's own kernels (the safetensors reload, pt2) must match every row within
    ``TOLERANCE``. So must an ONNX graph without activation rounding (``rounding``
    False). onnxruntime's float kernels round differently from PyTorch's in the last
    bits, and where activations are fake-quantized, such a difference that falls on a
    rounding boundary moves an activation by a whole step: a few rows then differ by
    1e-3 to 1e-2 (2–4 % of the digits test images, none changing class, in
    ``benchmarks/export_check.py``). Such a graph must match at least
    ``MIN_MATCHING_ROWS`` of the rows; a wrongly translated graph misses nearly all.
    """
    within = int((rows <= TOLERANCE).sum())
    needed = len(rows) if not rounding else math.ceil(MIN_MATCHING_ROWS * len(rows))
    if within < needed:
        raise ExportError(
            f"the {fmt} export differs from the subnet: {within} of {len(rows)} check rows within "
            f"{TOLERANCE:g} ({needed} needed), max |diff| {float(rows.max()):.2e}"
        )


def rounds_activations(static: StaticSubnet) -> bool:
    """Whether any executed layer fake-quantizes the inputs of its linears."""
    return any(isinstance(layer, StaticLayer) and layer.act_bits < FLOAT_BITS for layer in static.layers)


def check_format(fmt: str, int8: bool) -> None:
    """``fmt`` must be one of FORMATS, and int8 layers only go to safetensors."""
    if fmt not in FORMATS:
        raise ExportError(f"{fmt!r} is not valid; valid: {', '.join(FORMATS)}", field="fmt")
    if int8 and fmt != "safetensors":
        raise ExportError(f"works with `fmt` safetensors only, not {fmt!r}; int8 kernels do not export", field="int8")


def check_out(out: Path) -> None:
    """``out`` must be a new or empty directory whose parent exists."""
    check_path_name(out, "out")
    if not out.parent.is_dir():
        raise ExportError(f"{str(out)!r}: the parent directory does not exist", field="out")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{str(out)!r} already exists and is not an empty directory; choose a new one", field="out")
    check_writable(out.parent, "out")


def load(directory: str | Path) -> StaticSubnet:
    """Load an export directory's ``model.safetensors`` into its static subnet (no supernet needed)."""
    from safetensors.torch import load_file

    path = Path(directory)
    meta = read_config(path)
    try:
        space = SearchSpace.from_dict(meta["space"], source=f"{path / CONFIG_FILE}")
        config = SubnetConfig.from_dict(meta["config"])
        spec = InputSpec.from_dict(meta["input"])
        module = skeleton(space, spec, config, bool(meta["int8_layers"]))
        module.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(f"{str(path)!r} is not a loadable supernas export ({reason})") from None
    return module.eval()


def read_config(directory: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of an export directory."""
    try:
        meta = json.loads((directory / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"{str(directory)!r} has no readable {CONFIG_FILE} ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise ExportError(f"{str(directory / CONFIG_FILE)!r} is not a {FORMAT_VERSION} file")
    return meta


def skeleton(space: SearchSpace, spec: InputSpec, config: SubnetConfig, int8: bool) -> StaticSubnet:
    """A static subnet of the right structure; its weights are placeholders until loaded."""
    return build(Supernet(space, spec, torch.Generator().manual_seed(0)), config, int8)


def _write_weights(
    static: StaticSubnet, space: SearchSpace, config: SubnetConfig, info: InputInfo, int8: bool, tmp: Path
) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in static.state_dict().items()}
    save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT_VERSION, "arch_id": config.arch_id})
    write_json(
        tmp / CONFIG_FILE,
        {
            "format": FORMAT_VERSION,
            "arch_id": config.arch_id,
            "config": config.to_dict(),
            "space": space.to_dict(),
            "input": info.to_dict(),
            "int8_layers": int8_layers(static) if int8 else [],
        },
    )


def _write_pt2(static: StaticSubnet, example: Tensor, path: Path, x: Tensor) -> Tensor:
    from torch.export import Dim, export, load, save

    batch = Dim("batch", min=1, max=1 << 16)
    try:
        program = export(static, (example,), dynamic_shapes={"x": {0: batch}})
        save(program, str(path))
        reloaded = load(str(path)).module()
    except Exception as exc:  # torch.export raises many kinds; the user needs the reason, in one line
        raise ExportError(f"torch.export failed: {_first_line(exc)}") from None
    return _row_diffs(static, reloaded, x)


def _write_onnx(static: StaticSubnet, example: Tensor, path: Path, x: Tensor) -> Tensor:
    from torch.export import Dim

    batch = Dim("batch", min=1, max=1 << 16)
    try:
        with _quiet_onnx_exporter():
            torch.onnx.export(
                static,
                (example,),
                str(path),
                dynamo=True,
                dynamic_shapes={"x": {0: batch}},
                input_names=["x"],
                output_names=["logits"],
                external_data=False,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many kinds; the user needs the reason, in one line
        raise ExportError(f"ONNX export failed: {_first_line(exc)}") from None
    return _onnx_diff(static, path, x)


@contextlib.contextmanager
def _quiet_onnx_exporter() -> Iterator[None]:
    """Silence what the ONNX exporter says that a user cannot act on: optional torchvision ops it skips and a
    pytree deprecation inside torch. Anything it still prints goes to stderr, so stdout stays parseable."""
    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry.level
    registry.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
            yield
    finally:
        registry.setLevel(level)


def _onnx_diff(static: StaticSubnet, path: Path, x: Tensor) -> Tensor:
    """Per-row max abs difference of onnxruntime's output to the subnet's (zeros after the ONNX checker
    when onnxruntime is missing)."""
    try:
        import onnxruntime
    except ImportError:
        import onnx

        onnx.checker.check_model(str(path))
        return torch.zeros(len(x))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        return (torch.from_numpy(logits) - static(x)).abs().amax(dim=1)  # (B,)


def _row_diffs(a: nn.Module, b: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """(B,) max abs difference of two modules' outputs, per row of ``x``."""
    with torch.no_grad():
        return (a(x) - b(x)).abs().amax(dim=1)


def _example(spec: InputSpec, batch: int) -> Tensor:
    return torch.randn((batch, *spec.shape), generator=torch.Generator().manual_seed(0))


def _example_like(example: Tensor, batch: int) -> Tensor:
    return torch.randn((batch, *example.shape[1:]), generator=torch.Generator().manual_seed(1))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
