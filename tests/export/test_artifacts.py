"""Exported subnets reload exactly; pt2 and ONNX run without supernas; int8 is real and close."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.errors import ExportError
from supernas.export import InputInfo, build, knee, load, write_export
from supernas.export.artifacts import _onnx_diff, accept, rounds_activations
from supernas.export.choose import select
from supernas.export.int8 import Int8Linear, int8_layers
from supernas.search_space import InputSpec, SubnetConfig, largest, sample
from supernas.supernet import Supernet
from supernas.testing import tiny_space

SPEC = InputSpec("image", (1, 8, 8), 10)
INFO = InputInfo(SPEC, tuple(str(k) for k in range(10)), (4.9,), (6.0,))


@pytest.fixture(scope="module")
def supernet() -> Supernet:
    space = tiny_space()
    net = Supernet(space, SPEC, torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if "lora_b" in name:  # non-zero adapters, so LoRA matters in the comparison
                param.normal_(0.0, 0.05, generator=gen)
    return net.eval()


def _x(batch: int, seed: int = 5) -> torch.Tensor:
    return torch.randn((batch, *SPEC.shape), generator=torch.Generator().manual_seed(seed))


def test_safetensors_export_of_random_subnets_reloads_to_the_supernet_output(
    supernet: Supernet, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    x = _x(7)
    for i in range(12):
        config = sample(supernet.space, rng)
        out = tmp_path / f"s{i}"
        exported = write_export(
            build(supernet, config, False), supernet.space, config, INFO, out, "safetensors", {}, ""
        )
        assert set(exported.files) == {"config.json", "model.safetensors", "metrics.json", "README.md"}
        with torch.no_grad():
            diff = (load(out)(x) - supernet(x, config)).abs().max().item()
        assert diff <= 1e-5, (config, diff)
        meta = json.loads((out / "config.json").read_text())
        assert SubnetConfig.from_dict(meta["config"]).arch_id == config.arch_id == meta["arch_id"]
        assert meta["input"]["class_names"] == list(INFO.class_names) and meta["input"]["mean"] == [4.9]


PORTABLE = textwrap.dedent(
    """
    import json, sys, numpy as np, torch
    path, kind, x_file, expected_file = sys.argv[1:]
    x = torch.from_numpy(np.load(x_file))
    if kind == "pt2":
        got = torch.export.load(path).module()(x).detach().numpy()
    else:
        import onnxruntime
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = session.run(None, {"x": x.numpy()})[0]
    assert "supernas" not in sys.modules, "the export must not need supernas"
    expected = np.load(expected_file)
    rows = np.abs(got - expected).max(axis=1).tolist()
    print(json.dumps({"rows": rows, "same_class": bool((got.argmax(1) == expected.argmax(1)).all())}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_pt2_and_onnx_run_in_a_fresh_process_without_supernas(supernet: Supernet, tmp_path: Path, fmt: str) -> None:
    rounding = sample(supernet.space, np.random.default_rng(3))  # benchmarks/export_check.py runs 10
    assert min(rounding.act_bits[: rounding.depth]) < 32
    configs = [replace(rounding, act_bits=(32,) * len(rounding.act_bits)), rounding]
    for i, config in enumerate(configs):
        out = tmp_path / f"{fmt}{i}"
        exported = write_export(build(supernet, config, False), supernet.space, config, INFO, out, fmt, {}, "")
        x = _x(16)  # the graph was traced at batch 2
        np.save(tmp_path / "x.npy", x.numpy())
        with torch.no_grad():
            np.save(tmp_path / "y.npy", supernet(x, config).numpy())
        script = tmp_path / "portable.py"
        script.write_text(PORTABLE)
        model = out / ("model.pt2" if fmt == "pt2" else "model.onnx")
        result = subprocess.run(
            [sys.executable, str(script), str(model), fmt, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        rows = torch.tensor(report["rows"])  # (16,) max abs difference per row
        if fmt == "pt2" or config is not rounding:  # PyTorch's own kernels, or no rounding inside the graph
            assert exported.checks[fmt] <= 1e-4 and float(rows.max()) <= 1e-4
        else:  # onnxruntime's last bits may flip a rounding of an activation on a few rows
            assert exported.matching[fmt] >= 0.75 and float((rows <= 1e-4).double().mean()) >= 0.75
        assert report["same_class"]
        if fmt == "onnx":  # the check catches a graph of another subnet, even where it tolerates rounding flips
            other_config = sample(supernet.space, np.random.default_rng(4))
            assert other_config.arch_id != config.arch_id
            other = build(supernet, other_config, False)
            with pytest.raises(ExportError, match="check rows within"):
                accept("onnx", _onnx_diff(other, model, _x(16)), rounding=True)


def test_export_checks_tolerate_rounding_flips_only_in_onnx_graphs_that_round() -> None:
    rows = torch.full((16,), 1e-6)
    rows[:3] = 5e-3  # three rows where a fake-quantized activation fell on the other side of a rounding tie
    accept("onnx", rows, rounding=True)
    with pytest.raises(
        ExportError, match=r"the onnx export differs from the subnet: 13 of 16 check rows within 0.0001 \(16 needed\)"
    ):
        accept("onnx", rows, rounding=False)
    with pytest.raises(ExportError, match=r"the pt2 export differs"):
        accept("pt2", rows, rounding=False)
    wrong = torch.full((16,), 0.3)
    wrong[:5] = 0.0
    with pytest.raises(ExportError, match=r"5 of 16 check rows within 0.0001 \(12 needed\), max \|diff\| 3.00e-01"):
        accept("onnx", wrong, rounding=True)


def test_rounds_activations_sees_every_executed_layer(supernet: Supernet) -> None:
    config = largest(supernet.space)
    assert not rounds_activations(build(supernet, replace(config, act_bits=(32, 32, 32)), False))
    assert rounds_activations(build(supernet, replace(config, act_bits=(32, 32, 8)), False))


def test_int8_layers_hold_the_trained_integers_and_stay_close(supernet: Supernet, tmp_path: Path) -> None:
    config = replace(largest(supernet.space), weight_bits=(8, 32, 8), act_bits=(8, 32, 32), loops=2)
    # block 0 runs layers 0 and 2, both with 8-bit weights: layer 0 through the int8 kernel, layer 2 with float inputs
    static, int8 = build(supernet, config, False), build(supernet, config, True)
    assert int8_layers(int8) == [0, 2]
    linear = int8.blocks[0].int8["fc1"]
    assert isinstance(linear, Int8Linear)
    assert int8.blocks[0].fc1 is None  # every layer running block 0 is 8-bit: no float copy kept
    float_fc1 = static.blocks[0].fc1
    from supernas.supernet.functional import fake_quant_weight

    torch.testing.assert_close(linear.dequantized(), fake_quant_weight(float_fc1.weight, 8), rtol=0, atol=1e-7)
    x = _x(32)
    with torch.no_grad():
        a, b = static(x), int8(x)
    assert (a - b).abs().max() < 0.1 * a.abs().max()  # only the input quantization differs
    assert (a.argmax(1) == b.argmax(1)).float().mean() >= 0.9
    out = tmp_path / "int8"
    exported = write_export(int8, supernet.space, config, INFO, out, "safetensors", {}, "")
    reference = tmp_path / "fp32"
    write_export(static, supernet.space, config, INFO, reference, "safetensors", {}, "")
    assert exported.files["model.safetensors"] < (reference / "model.safetensors").stat().st_size
    with torch.no_grad():
        assert torch.equal(load(out)(x), b)


def test_int8_quantizes_each_token_alone(supernet: Supernet) -> None:
    config = replace(largest(supernet.space), weight_bits=(8, 8, 8), act_bits=(8, 8, 8))
    int8 = build(supernet, config, True)
    x = _x(12)
    with torch.no_grad():
        together = int8(x)  # (12, K)
        alone = torch.cat([int8(x[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(alone, together, rtol=0, atol=1e-5)  # a batch never changes an image's result
    linear = int8.blocks[0].int8["fc1"]
    tokens = torch.randn(2, 5, linear.weight_int8.shape[1], generator=torch.Generator().manual_seed(1)) + 0.5
    tokens[0, 0] *= 100  # one loud token must not coarsen the others' grid
    with torch.no_grad():
        exact = tokens @ linear.dequantized().T + linear.bias  # (2, 5, out)
        error = (linear(tokens) - exact).abs().amax(dim=-1)  # (2, 5)
    span = tokens.amax(dim=-1) - tokens.amin(dim=-1)  # (2, 5)
    weight_l1 = linear.dequantized().abs().sum(dim=1).max()
    assert (error <= span / 127 * weight_l1).all()  # within one 7-bit step of its own range per input


def test_bad_exports_leave_nothing_behind(supernet: Supernet, tmp_path: Path) -> None:
    config = largest(supernet.space)
    static = build(supernet, config, False)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    cases = [
        (tmp_path / "a", "tflite", "fmt 'tflite' is not valid; valid: safetensors, pt2, onnx"),
        (tmp_path / "taken", "safetensors", "already exists and is not an empty directory"),
        (tmp_path / "no" / "dir", "safetensors", "the parent directory does not exist"),
    ]
    before = sorted(p.name for p in tmp_path.iterdir())
    for out, fmt, needle in cases:
        with pytest.raises(ExportError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            write_export(static, supernet.space, config, INFO, out, fmt, {}, "")
    int8 = build(supernet, replace(config, weight_bits=(8, 8, 8)), True)
    with pytest.raises(ExportError, match="int8 works with `fmt` safetensors only"):
        write_export(int8, supernet.space, config, INFO, tmp_path / "b", "onnx", {}, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{}")
    with pytest.raises(ExportError, match="is not a supernas-export/1 file"):
        load(tmp_path / "broken")


def test_knee_is_the_member_nearest_the_ideal_corner() -> None:
    objectives = [{"name": "accuracy", "direction": "max"}, {"name": "latency_ms", "direction": "min"}]
    rows = [
        {"metrics": {"accuracy": 0.99, "latency_ms": 10.0}},
        {"metrics": {"accuracy": 0.97, "latency_ms": 2.0}},  # near-best accuracy at a fifth of the latency
        {"metrics": {"accuracy": 0.80, "latency_ms": 1.0}},
    ]
    assert knee(rows, objectives) == 1


def test_select_picks_the_front_the_top_n_or_one_member() -> None:
    objectives = [{"name": "accuracy", "direction": "max"}, {"name": "latency_ms", "direction": "min"}]
    rows = [
        {"arch_id": "a", "metrics": {"accuracy": 0.99, "latency_ms": 10.0}},
        {"arch_id": "b", "metrics": {"accuracy": 0.97, "latency_ms": 2.0}},
        {"arch_id": "d", "metrics": {"accuracy": 0.80, "latency_ms": 1.0}},
    ]
    complete = {r["arch_id"]: r for r in [*rows, {"arch_id": "c", "metrics": {"accuracy": 0.98, "latency_ms": 20.0}}]}
    assert select(rows, objectives, complete, front=True) == rows
    assert [r["arch_id"] for r in select(rows, objectives, complete, top=2)] == ["a", "c"]  # any completed subnet
    assert [r["arch_id"] for r in select(rows, objectives, complete, use_knee=True)] == ["b"]
    assert select(rows, objectives, complete, arch="c") == [complete["c"]]
    with pytest.raises(ExportError, match=r"top 5 is out of range; valid: 1\.\.4"):
        select(rows, objectives, complete, top=5)
    with pytest.raises(ExportError, match=r"choose exactly one of .* \(got `front`, `top`\)"):
        select(rows, objectives, complete, front=True, top=1)
    with pytest.raises(ExportError, match="rank 0 is out of range"):  # 0 is a value, not "not given"
        select(rows, objectives, complete, rank=0)
